"""The /models page in Chromium: list with the active badge, the compare heatmap, training with progress, activation."""

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from app.models.training import train
from app.models.versions.store import VersionStore
from tests.live_server import live_server
from tests.web.conftest import PageWatch

KEY = "page-admin-key"


@pytest.fixture
def models_server(model_dir, default_data, tmp_path) -> Iterator[tuple[str, str, str]]:
    """A server with two versions (the first active) and an admin key."""
    root = tmp_path / "models_artifacts"
    shutil.copytree(model_dir, root)
    first = VersionStore(root).active_version()
    second = train(default_data, output_dir=root, k=6, seed=3).model.version
    env = {"MODEL_DIR": str(root), "AUTO_TRAIN": "false", "ADMIN_API_KEYS": KEY}
    with live_server(env, tmp_path / "server.log") as server:
        yield server.url, first, second


@pytest.mark.slow
def test_models_page_lists_compares_trains_and_activates(browser, models_server, screenshots):
    url, first, second = models_server
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    watch = PageWatch(page, url)
    page.goto(f"{url}/models")
    rows = page.locator("#versions tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator(f'tr[data-version="{first}"] [data-role="active-badge"]')).to_be_visible()

    # Compare (a plain GET form: no JavaScript needed) draws the migration heatmap.
    page.select_option('select[name="compare"]', second)
    page.click(".compare-form button")
    heatmap = page.locator("#heatmap")
    expect(heatmap).to_be_visible()
    expect(heatmap.locator("g.cell")).to_have_count(5 * 6)
    assert heatmap.bounding_box()["width"] <= 375
    page.screenshot(path=str(screenshots / "models-375.png"), full_page=True)

    # Train on the bundled data with the admin key; progress is shown until the new version appears.
    page.fill("#admin-key", KEY)
    page.click("#train-form button")
    expect(page.locator("#train-progress")).to_be_visible()
    expect(page.locator("#train-status")).to_contain_text("Done: version", timeout=120_000)
    expect(rows).to_have_count(3, timeout=20_000)

    # Activate the k=6 version, confirming the dialog.
    page.fill("#admin-key", KEY)  # the reload cleared it: the key is never stored
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f'button[data-action="activate"][data-version="{second}"]')
    expect(page.locator(f'tr[data-version="{second}"] [data-role="active-badge"]')).to_be_visible(timeout=20_000)

    # Now there is a version to go back to: the button names it, and rolls back to it.
    rollback = page.locator('button[data-action="rollback"]')
    expect(rollback).to_contain_text(first)
    page.fill("#admin-key", KEY)
    page.once("dialog", lambda dialog: dialog.accept())
    rollback.click()
    expect(page.locator(f'tr[data-version="{first}"] [data-role="active-badge"]')).to_be_visible(timeout=20_000)
    assert watch.errors == [] and watch.foreign_requests() == []
    context.close()


@pytest.mark.slow
@pytest.mark.parametrize("width", [375, 1280])
def test_every_versions_action_is_on_screen_and_rollback_only_when_possible(browser, models_server, width):
    url, first, second = models_server
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{url}/models")
    for version in (first, second):
        compare = page.locator(f'tr[data-version="{version}"] a.button')
        box = compare.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (version, box)
    activate = page.locator(f'button[data-action="activate"][data-version="{second}"]').bounding_box()
    assert activate["x"] + activate["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # The first version has been active since the start: there is nothing before it.
    expect(page.locator('button[data-action="rollback"]')).to_have_count(0)
    expect(page.locator('[data-role="no-rollback"]')).to_contain_text("Nothing to roll back to")
    page.close()


@pytest.mark.slow
def test_models_page_refuses_a_wrong_key_in_words(browser, models_server):
    url, first, second = models_server
    page = browser.new_page()
    page.goto(f"{url}/models")
    page.fill("#admin-key", "wrong")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f'button[data-action="activate"][data-version="{second}"]')
    expect(page.locator('[data-role="action-status"]')).to_contain_text("does not hold an admin key")
    expect(page.locator(f'tr[data-version="{first}"] [data-role="active-badge"]')).to_be_visible()
    page.close()
