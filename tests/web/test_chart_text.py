"""Chart text on a 375 px phone and on a desktop: at least 11 px on screen, no two labels overlapping, none cut off."""

import pytest

from tests.web.test_monitoring_browser import feed_shifted_customers

# Per chart: the smallest rendered text (font size times the SVG's scale), overlapping text pairs, texts outside.
CHART_TEXT = """() => [...document.querySelectorAll('svg.chart')]
  .filter(s => s.getBoundingClientRect().width > 0).map(s => {
  const texts = [...s.querySelectorAll('text')].filter(t => t.getBoundingClientRect().height > 0);
  const scale = s.getScreenCTM().a;
  const boxes = texts.map(t => t.getBoundingClientRect());
  const frame = s.getBoundingClientRect();
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1)
      overlaps.push(texts[i].textContent + ' | ' + texts[j].textContent);
  }
  return {
    chart: s.id || s.closest('[id]').id,
    smallest: Math.min(...texts.map(t => parseFloat(getComputedStyle(t).fontSize) * scale)),
    overlaps,
    outside: texts.filter((t, i) => boxes[i].left < frame.left - 1 || boxes[i].right > frame.right + 1)
      .map(t => t.textContent),
  };
})"""


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
