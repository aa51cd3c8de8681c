"""In Chromium on a phone: an error page's way back fits the screen, however long the address it names."""

import httpx
import pytest
from playwright.sync_api import expect

from tests.runs_files import customers_csv

pytestmark = pytest.mark.slow


def test_the_way_back_to_a_runs_page_fits_a_phone(browser, base_url):
    answer = httpx.post(
        base_url + "/api/v1/predict/csv", content=customers_csv(range(0, 20)), headers={"content-type": "text/csv"}
    )
    assert answer.status_code == 200
    context = browser.new_context(viewport={"width": 375, "height": 700})
    page = context.new_page()
    # A sort the run cannot do: a 422 page whose way back is the run's own address, 38 characters without a space.
    response = page.goto(f"{base_url}/runs/{answer.headers['x-run-id']}?sort=no-such-column")
    assert response.status == 422
    expect(page.locator("#error-back")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    back = page.locator("#error-back").bounding_box()
    assert back["x"] + back["width"] <= 375
    context.close()
