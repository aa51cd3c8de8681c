"""In Chromium: where a table's headings are the file's own column names, they read as the file writes them."""

import httpx
import pytest

from app.models.synthetic_crm import write_crm
from tests.runs_files import HEADER, customers_csv
from tests.web.test_segmentation_browser import KEY, crm_server  # noqa: F401 (a fixture)

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
