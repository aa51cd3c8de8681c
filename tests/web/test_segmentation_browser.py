"""In Chromium: create a `columns` segmentation from /models with the generated CRM file, and see it served."""

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from app.models.synthetic_crm import write_crm
from tests.live_server import live_server
from tests.web.axe import axe_violations, describe
from tests.web.conftest import PageWatch

KEY = "segmentation-browser-key"


@pytest.fixture
def crm_server(model_dir, tmp_path) -> Iterator[str]:
    """A server with an admin key and its own copy of the models folder."""
    root = tmp_path / "models_artifacts"
    shutil.copytree(model_dir, root)
    env = {"MODEL_DIR": str(root), "AUTO_TRAIN": "false", "ADMIN_API_KEYS": KEY}
    with live_server(env, tmp_path / "server.log") as server:
        yield server.url


@pytest.mark.slow
def test_a_columns_segmentation_is_created_from_the_models_page(browser, crm_server, tmp_path, screenshots):
    crm = write_crm(tmp_path / "crm_export.csv")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = PageWatch(page, crm_server)
    sent = []
    page.on("request", lambda request: sent.append((request.url, request.post_data_buffer or b"")))
    page.goto(f"{crm_server}/models")

    # Without the key the page says where to type it, and nothing is sent.
    page.set_input_files("#segmentation-upload-form input[type=file]", str(crm))
    page.click("#segmentation-upload-form button")
    expect(page.locator("#segmentation-upload-status")).to_contain_text("Admin key field")

    page.fill("#admin-key", KEY)
    page.click("#segmentation-upload-form button")
    page.wait_for_url("**/models/segmentations/new/*", timeout=20_000)
    expect(page.locator("#preview")).to_contain_text("CustomerID")
    expect(page.locator('input[name="use_0"]')).not_to_be_checked()  # the id column
    for index in (1, 2, 3):
        expect(page.locator(f'input[name="use_{index}"]')).to_be_checked()
    violations = axe_violations(page)
    assert violations == [], describe(violations)
    page.fill('input[name="unit_1"]', "$")
    page.select_option('select[name="transform_1"]', "log1p")
    page.fill('input[name="name"]', "columns")
    page.select_option('select[name="k"]', "3")
    page.click("#segmentation-create-form button[type=submit]")

    # Back on /models for the new segmentation: its first version is trained and becomes active.
    page.wait_for_url("**/models?segmentation=columns*", timeout=20_000)
    expect(page.locator('[data-role="active-badge"]')).to_be_visible(timeout=120_000)
    expect(page.locator("h1")).to_contain_text("columns")
    expect(page.locator("#segmentation-select")).to_have_value("columns")
    expect(page.locator('nav a[href="/score?segmentation=columns"]')).to_be_visible()

    # The picker switches back to the default segmentation, whose links carry no query.
    page.select_option("#segmentation-select", "default")
    page.click(".segmentation-picker button")
    expect(page.locator('nav a[href="/score"]')).to_be_visible()
    page.screenshot(path=str(screenshots / "segmentation-created.png"), full_page=True)
    # The admin key went only as a header: never in a URL or a request body.
    assert all(KEY.encode() not in body and KEY not in url for url, body in sent)
    assert watch.errors == [] and watch.foreign_requests() == []
    context.close()
