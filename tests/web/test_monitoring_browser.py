"""/monitoring in Chromium: with an empty prediction log, and with drifted data, at desktop and phone widths."""

import time

import httpx
import numpy as np
import pytest
from playwright.sync_api import expect

from app.models.synthetic import generate_customers
from tests.web.axe import axe_violations, describe
from tests.web.chart_text import CHART_TEXT
from tests.web.conftest import PageWatch


def open_page(browser, url: str, width: int):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.watch = PageWatch(page, url)
    return context, page


def feed_shifted_customers(url: str, rows: int = 2_000) -> None:
    """Log customers whose income is one training std higher, then wait until the writer has stored them."""
    # Shuffled: the generator writes customers group by group, and the window takes the latest ones.
    frame = generate_customers(rows=rows, seed=21).sample(frac=1.0, random_state=0)
    customers = [
        {"annual_income": float(income) + 26.0, "spending_score": float(score)}
        for income, score in zip(frame["Annual Income (k$)"], frame["Spending Score (1-100)"], strict=True)
    ]
    assert httpx.post(f"{url}/api/v1/predict/batch", json={"customers": customers}, timeout=30).status_code == 200
    deadline = time.monotonic() + 30
    while httpx.get(f"{url}/api/v1/monitoring/drift?window={rows}").json()["window"]["size"] < rows:
        assert time.monotonic() < deadline, "logged predictions never reached the database"
        time.sleep(0.2)


def test_monitoring_with_an_empty_log_says_insufficient_data(browser, fresh_server, screenshots):
    context, page = open_page(browser, fresh_server, 1280)
    try:
        page.goto(fresh_server + "/")
        page.get_by_role("link", name="Monitoring").click()
        expect(page).to_have_url(fresh_server + "/monitoring")
        expect(page.get_by_role("link", name="Monitoring")).to_have_attribute("aria-current", "page")
        expect(page.locator("#summary .status")).to_have_text("… Not enough data for a verdict yet.")
        expect(page.locator("#volume-empty")).to_be_visible()
        expect(page.locator("#drift-empty")).to_contain_text("no verdict yet")
        expect(page.locator("[data-fact=trained-at] time")).to_have_count(1)
        assert page.locator("#drift-table").count() == 0
        assert page.watch.errors == []
        assert page.watch.foreign_requests() == []
        page.screenshot(path=screenshots / "monitoring-empty.png", full_page=True)
    finally:
        context.close()


def test_monitoring_with_drifted_data_shows_charts_and_statuses(browser, fresh_server, screenshots):
    feed_shifted_customers(fresh_server)
    for width, name in ((1280, "monitoring-desktop.png"), (375, "monitoring-mobile.png")):
        context, page = open_page(browser, fresh_server, width)
        try:
            page.goto(fresh_server + "/monitoring")
            expect(page.locator("#summary .status")).to_have_text("✕ drift")
            income = page.locator('#drift-table tr[data-check="annual_income"]')
            expect(income.locator(".status")).to_have_text("✕ drift")
            expect(income).to_contain_text("consider retraining")
            expect(page.locator('#drift-table tr[data-check="segment_mix"] .status')).to_have_text("✕ drift")
            expect(page.locator("#drift-messages li").first).to_be_visible()
            # Predictions per segment over time: one line per segment, totals adding up to what was sent.
            totals = page.locator("#volume-chart .volume-line").evaluate_all("gs => gs.map(g => +g.dataset.total)")
            assert sum(totals) == 2_000
            expect(page.locator(".histogram")).to_have_count(2)
            expect(page.locator("#hist-annual_income .bar-current")).to_have_count(10)
            expect(page.locator("#mix-chart g[data-segment-id]")).to_have_count(5)
            # Readable on a phone: nothing but the scrollable table regions is wider than the screen.
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= width
            assert page.watch.errors == []
            assert page.watch.foreign_requests() == []
            page.screenshot(path=screenshots / name, full_page=True)
        finally:
            context.close()


def feed_average_customers(url: str, rows: int) -> None:
    """Log `rows` customers near the training average (one segment takes nearly all), in batches, and wait."""
    rng = np.random.default_rng(4)
    for start in range(0, rows, 1_000):
        n = min(1_000, rows - start)
        customers = [
            {"annual_income": float(income), "spending_score": float(score)}
            for income, score in zip(rng.normal(55, 4, n).round(), rng.normal(50, 4, n).round(), strict=True)
        ]
        assert httpx.post(f"{url}/api/v1/predict/batch", json={"customers": customers}, timeout=60).status_code == 200
    deadline = time.monotonic() + 60
    while httpx.get(f"{url}/api/v1/monitoring/predictions").json()["total"] < rows:
        assert time.monotonic() < deadline, "logged predictions never reached the database"
        time.sleep(0.3)


# The volume chart: its gridlines' heights, and its highest point (SVG y grows downwards).
VOLUME_GEOMETRY = """() => {
  const svg = document.querySelector('#volume-chart');
  const grid = [...svg.querySelectorAll('.grid line')].map(l => +l.getAttribute('y1'));
  const points = [...svg.querySelectorAll('polyline')].flatMap(p => p.getAttribute('points').trim().split(/\\s+/))
    .map(xy => +xy.split(',')[1]);
  const labels = [...svg.querySelectorAll('.axis text')].map(t => t.textContent);
  return {topGridline: Math.min(...grid), highestPoint: Math.min(...points), labels};
}"""


@pytest.mark.slow
def test_monitoring_with_ten_thousand_predictions_is_whole_and_passes_axe(browser, fresh_server, screenshots):
    feed_average_customers(fresh_server, 10_200)
    for width in (1280, 375):
        context, page = open_page(browser, fresh_server, width)
        try:
            page.goto(fresh_server + "/monitoring")
            geometry = page.evaluate(VOLUME_GEOMETRY)
            assert geometry["highestPoint"] >= geometry["topGridline"], geometry
            # No chart text is cut at the chart's edge ("10000" read ".0000" on a phone), none overlaps.
            for chart in page.evaluate(CHART_TEXT):
                assert chart["outside"] == [] and chart["overlaps"] == [], chart
            assert "10,000" in geometry["labels"]
            violations = axe_violations(page)
            assert violations == [], describe(violations)
            assert page.watch.errors == [] and page.watch.foreign_requests() == []
            page.screenshot(path=screenshots / f"monitoring-10k-{width}.png", full_page=True)
        finally:
            context.close()


@pytest.mark.slow
@pytest.mark.parametrize("width", [1280, 375])
def test_monitoring_with_drift_has_no_axe_violations(browser, fresh_server, width):
    feed_shifted_customers(fresh_server, rows=500)
    context, page = open_page(browser, fresh_server, width)
    try:
        page.goto(fresh_server + "/monitoring")
        page.click("details.methods summary")  # the methods table too
        violations = axe_violations(page)
        assert violations == [], describe(violations)
    finally:
        context.close()
