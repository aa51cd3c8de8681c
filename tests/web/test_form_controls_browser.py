"""In Chromium at 1280 and 375 px: the selects and boxes of a run's page, of the column picker and of /monitoring's
custom span are 44 px targets at the page's text size, and nothing of the picker runs past a phone's screen."""

import httpx
import pytest
from playwright.sync_api import expect

from app.models.synthetic_crm import write_crm
from tests.runs_files import customers_csv
from tests.web.screens import WIDTHS, screenshot
from tests.web.test_segmentation_browser import KEY, crm_server  # noqa: F401 (a fixture)

pytestmark = pytest.mark.slow

# Each visible select and checkbox (by its label): its name, size, text size, and whether it runs past its scrolling
# table (or the screen).
CONTROLS = """() => [...document.querySelectorAll('main select, main input[type=checkbox]')]
  .filter(e => e.getBoundingClientRect().width > 0)
  .map(e => { const target = e.type === 'checkbox' ? e.closest('label') : e, box = target.getBoundingClientRect();
              const frame = e.closest('.table-scroll') || document.documentElement;
              return {name: e.name || e.id, width: box.width, height: box.height,
                      font: parseFloat(getComputedStyle(target).fontSize),
                      past: box.right > frame.getBoundingClientRect().right + 1}; })"""


def small_or_past(page) -> list[dict]:
    """Controls under 44 px, with text under 14 px (the browser's own 13.3 px), or running past their frame."""
    controls = page.evaluate(CONTROLS)
    assert controls
    return [c for c in controls if c["height"] < 44 or c["font"] < 14 or c["past"]]


@pytest.mark.parametrize("width", WIDTHS)
def test_a_runs_filters_and_compare_picker_are_full_size(browser, base_url, width):
    for seed in (1, 2):
        answer = httpx.post(
            base_url + "/api/v1/predict/csv",
            content=customers_csv(range(0, 60), seed=seed),
            headers={"content-type": "text/csv"},
        )
        assert answer.status_code == 200
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{base_url}/runs/{answer.headers['x-run-id']}")
    expect(page.locator("#compare-with")).to_be_visible()
    assert small_or_past(page) == []
    screenshot(page, "run-controls")
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_column_pickers_boxes_and_selects_are_full_size_and_fit(browser, crm_server, tmp_path, width):  # noqa: F811
    crm = write_crm(tmp_path / "crm_export.csv")
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{crm_server}/models")
    page.fill("#admin-key", KEY)
    page.set_input_files("#segmentation-upload-form input[type=file]", str(crm))
    page.click("#segmentation-upload-form button")
    page.wait_for_url("**/models/segmentations/new/*", timeout=20_000)
    assert small_or_past(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, "column-picker")
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_monitoring_spans_boxes_and_button_are_full_size(browser, base_url, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{base_url}/monitoring")
    controls = page.evaluate(
        "[...document.querySelectorAll('.period-custom input:not([type=hidden]), .period-custom button')].map(e => {"
        " const box = e.getBoundingClientRect();"
        " return {name: e.name || e.textContent, height: box.height, right: box.right,"
        " font: parseFloat(getComputedStyle(e).fontSize)}; })"
    )
    assert len(controls) == 3
    assert [c for c in controls if c["height"] < 44 or c["font"] < 14 or c["right"] > width] == []
    context.close()
