"""In Chromium: a 200-character column name keeps a run's page and the new-segmentation page within the screen."""

import shutil
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect

from app.models.synthetic_crm import write_crm
from tests.live_server import live_server
from tests.runs_files import customers_csv
from tests.web.screens import WIDTHS, screenshot

pytestmark = pytest.mark.slow

KEY = "long-names-browser-key"
# No spaces: the browser cannot break it at a word, as a CRM export's generated field names often are.
LONG_NUMBER = "Lifetime_value_" + "x" * 185
LONG_TEXT = "Preferred_store_" + "y" * 184


def _with_columns(text: str, header: str, cells) -> str:
    """`text` (a CSV file) with columns named by `header` appended, their cells from `cells(row number)`."""
    lines = text.splitlines()
    return "\n".join([f"{lines[0]},{header}", *(f"{line},{cells(n)}" for n, line in enumerate(lines[1:]))]) + "\n"


@pytest.fixture
def server(model_dir, tmp_path) -> Iterator[str]:
    """A server with an admin key, its own models folder and its own runs."""
    root = tmp_path / "models_artifacts"
    shutil.copytree(model_dir, root)
    env = {
        "MODEL_DIR": str(root),
        "AUTO_TRAIN": "false",
        "ADMIN_API_KEYS": KEY,
        "SCORE_RESULTS_DIR": str(tmp_path / "results"),
    }
    with live_server(env, tmp_path / "server.log") as running:
        yield running.url


def _fits(page) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"long-names-{page.url.split('/')[3]}")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (width, page.url)


def test_a_200_character_column_name_keeps_the_run_and_new_segmentation_pages_on_screen(browser, server, tmp_path):
    assert len(LONG_NUMBER) == len(LONG_TEXT) == 200
    scored = httpx.post(
        f"{server}/api/v1/predict/csv",
        content=_with_columns(customers_csv(range(60)), LONG_NUMBER, str),
        headers={"content-type": "text/csv"},
    )
    assert scored.status_code == 200, scored.text
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()

    # Sorted by the long column, the run's page also heads a table column with it.
    page.goto(f"{server}/runs/{scored.headers['x-run-id']}")
    page.select_option("#sort", value=f"-{LONG_NUMBER}")
    page.click("#browse-apply")
    expect(page.locator("#customers thead")).to_contain_text(LONG_NUMBER[:40], ignore_case=True)
    _fits(page)

    crm = tmp_path / "crm.csv"
    write_crm(crm)
    crm.write_text(_with_columns(crm.read_text(), f"{LONG_NUMBER},{LONG_TEXT},", lambda n: f"{n},store {n},x"))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{server}/models")
    page.fill("#admin-key", KEY)
    page.set_input_files("#segmentation-upload-form input[type=file]", str(crm))
    page.click("#segmentation-upload-form button")
    page.wait_for_url("**/models/segmentations/new/*", timeout=20_000)
    expect(page.locator("#not-numeric")).to_contain_text(LONG_TEXT)
    expect(page.locator("#not-numeric")).to_contain_text("no name)")
    expect(page.locator(f'#columns tr[data-column="{LONG_NUMBER}"]')).to_be_visible()
    _fits(page)
    context.close()
