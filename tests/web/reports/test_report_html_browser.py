"""The HTML report in Chromium at a desk's and a phone's width: nothing runs off the page, and the charts keep a
readable size, scrolling sideways in their own box on a phone."""

import httpx
import pytest

from tests.web.screens import WIDTHS

pytestmark = pytest.mark.slow


def test_the_version_report_fits_the_page_and_its_charts_stay_readable(browser, base_url, screenshots):
    version = httpx.get(base_url + "/api/v1/model/info").json()["version"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    response = page.goto(f"{base_url}/api/v1/models/{version}/report?format=html")
    assert response is not None and response.status == 200
    charts = page.locator("img.chart")
    assert charts.count() >= 3
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(screenshots / f"report-html-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        root_em = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
        for i in range(charts.count()):
            box = charts.nth(i).bounding_box()
            assert box is not None and box["width"] >= 36 * root_em - 1  # never shrunk below its minimum
    context.close()
