"""Chart text on a 375 px phone and on a desktop: at least 11 px on screen, no two labels overlapping, none cut off."""

import pytest

from tests.web.chart_text import CHART_TEXT
from tests.web.test_monitoring_browser import feed_shifted_customers


@pytest.mark.parametrize("width", [375, 1280])
def test_chart_text_is_readable_and_apart(browser, fresh_server, default_data, width):
    feed_shifted_customers(fresh_server, rows=300)
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    charts = []
    for path in ("/", "/about", "/monitoring"):
        page.goto(fresh_server + path)
        charts += page.evaluate(CHART_TEXT)
    page.goto(fresh_server + "/score")
    page.set_input_files("#score-file", str(default_data))
    page.click("#score-submit")
    page.wait_for_selector("#score-result")
    charts += page.evaluate(CHART_TEXT)
    context.close()
    names = {chart["chart"] for chart in charts}
    assert {"segment-map", "k-chart", "volume-chart", "mix-chart", "score-bars"} <= names
    for chart in charts:
        assert chart["smallest"] >= 11, chart
        assert chart["overlaps"] == [], chart
        assert chart["outside"] == [], chart
