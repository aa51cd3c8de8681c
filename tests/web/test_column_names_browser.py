"""In Chromium: a table's headings read as written, whether a file's own column names, a unit or the symbol k."""

import httpx
import pytest

from app.models.synthetic_crm import write_crm
from tests.runs_files import HEADER, customers_csv
from tests.web.test_segmentation_browser import KEY, crm_server  # noqa: F401 (a fixture)

# Every column heading of the table, as shown and as written: they differ when the style turns them to capitals.
HEADINGS = """table => [...table.querySelectorAll('thead th')].map(th => [th.innerText, th.textContent.trim()])"""

pytestmark = pytest.mark.slow


def test_a_runs_customers_table_names_the_files_columns_as_written(page, base_url):
    answer = httpx.post(
        base_url + "/api/v1/predict/csv", content=customers_csv(range(0, 20)), headers={"content-type": "text/csv"}
    )
    assert answer.status_code == 200
    page.goto(f"{base_url}/runs/{answer.headers['x-run-id']}")
    headings = page.locator("#customers thead th").all_inner_texts()
    assert HEADER[0] in headings and "Annual Income (k$)" in headings, headings


def test_the_column_pickers_preview_names_the_files_columns_as_written(page, crm_server, tmp_path):  # noqa: F811
    crm = write_crm(tmp_path / "crm_export.csv")
    page.goto(f"{crm_server}/models")
    page.fill("#admin-key", KEY)
    page.set_input_files("#segmentation-upload-form input[type=file]", str(crm))
    page.click("#segmentation-upload-form button")
    page.wait_for_url("**/models/segmentations/new/*", timeout=20_000)
    assert page.locator("#preview thead th").all_inner_texts() == ["CustomerID", "Income", "Visits", "Tenure"]


def test_the_about_pages_statistics_headings_keep_the_units_case(page, base_url):
    page.goto(f"{base_url}/about")
    headings = page.locator("#stats-table").evaluate(HEADINGS)
    assert ["Mean income (k$)", "Mean income (k$)"] in headings, headings
    assert all(shown == written for shown, written in headings), headings
    facts = page.locator(".facts dt").evaluate_all("dts => dts.map(dt => [dt.innerText, dt.textContent.trim()])")
    assert ["Segments (k)", "Segments (k)"] in facts, facts
    assert all(shown == written for shown, written in facts), facts


def test_the_score_pages_profile_headings_keep_the_units_case(page, base_url, default_data):
    page.goto(f"{base_url}/score")
    page.set_input_files("#score-file", str(default_data))
    page.click("#score-submit")
    table = page.locator("#score-profile table")
    table.wait_for()
    heading = table.locator("thead th", has_text="(k$)")
    assert heading.inner_text() == "Income (k$)"
    assert heading.evaluate("th => getComputedStyle(th).textTransform") == "none"
    assert all(shown == written for shown, written in table.evaluate(HEADINGS))


def test_the_models_pages_headings_keep_k_lower_case(page, base_url):
    page.goto(f"{base_url}/models")
    headings = page.locator("#versions").evaluate(HEADINGS)
    assert ["k", "k"] in headings and ["k sweep (silhouette)", "k sweep (silhouette)"] in headings, headings
