"""/monitoring over time in Chromium: per hour, at desktop and phone widths, whole, readable and passing axe."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from app.db.tables import DriftCheck
from tests.web.axe import axe_violations, describe
from tests.web.chart_text import CHART_TEXT
from tests.web.test_monitoring_browser import feed_shifted_customers, open_page

CHECKS = ["feature:annual_income", "feature:spending_score", "segment_mix", "atypical", "out_of_range"]


def store_evaluations(database: str, version: str, statuses: dict[int, str]) -> None:
    """drift_checks rows as the background evaluator stores them (`hours ago: status`), into the server's log."""
    now = datetime.now(UTC)
    engine = create_engine(database)
    with Session(engine) as session:
        for hours, status in statuses.items():
            at = now - timedelta(hours=hours)
            checks = [{"check": "overall", "status": status, "value": None}]
            checks += [{"check": name, "status": status, "value": 0.1} for name in CHECKS]
            session.add(
                DriftCheck(
                    evaluated_at=at,
                    segmentation="default",
                    model_version=version,
                    window_since=at - timedelta(days=1),
                    window_until=at,
                    window_size=500,
                    status=status,
                    checks=checks,
                    warning=None,
                )
            )
        session.commit()
    engine.dispose()


@pytest.mark.slow
def test_monitoring_over_time_is_whole_readable_and_passes_axe(browser, fresh_server, tmp_path, screenshots):
    import httpx

    feed_shifted_customers(fresh_server, rows=600)
    version = httpx.get(f"{fresh_server}/api/v1/monitoring/timeseries").json()["model_version"]
    store_evaluations(f"sqlite:///{tmp_path / 'log.sqlite3'}", version, {6: "watch", 3: "stable", 0: "drift"})
    for width in (1280, 375):
        context, page = open_page(browser, fresh_server, width)
        try:
            page.goto(fresh_server + "/monitoring?bucket=hour")
            section = page.locator("#over-time")
            expect(section).to_have_attribute("data-bucket", "hour")
            expect(page.locator('.bucket-picker a[aria-current="true"]')).to_have_text("By hour")
            rects = page.locator("#mix-time-chart rect[data-count]")
            counts = rects.evaluate_all("rs => rs.map(r => +r.dataset.count)")
            assert sum(counts) == 600
            expect(page.locator("#volume-time-chart .time-line")).to_have_count(2)
            expect(page.locator("#rates-time-chart .time-line")).to_have_count(2)
            # One strip per check plus the overall one, each with three stored evaluations in words.
            expect(page.locator("#drift-time-chart .drift-strip")).to_have_count(len(CHECKS) + 1)
            statuses = page.locator('#drift-time-chart [data-check="overall"] [data-status]')
            assert statuses.evaluate_all("gs => gs.map(g => g.dataset.status)") == ["watch", "stable", "drift"]
            page.click("#over-time-numbers summary")
            page.click("#drift-time-numbers summary")
            expect(page.locator("#drift-time-table tbody tr")).to_have_count(3)
            expect(page.locator("#over-time-table tbody tr")).to_have_count(1)
            for chart in page.evaluate(CHART_TEXT):
                assert chart["outside"] == [] and chart["overlaps"] == [], chart
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            violations = axe_violations(page)
            assert violations == [], describe(violations)
            assert page.watch.errors == [] and page.watch.foreign_requests() == []
            page.screenshot(path=screenshots / f"monitoring-over-time-{width}.png", full_page=True)
            # The bucket control keeps the window: a day per point, still the last 24 h.
            page.get_by_role("link", name="By day").click()
            expect(page).to_have_url(fresh_server + "/monitoring?period=24h&bucket=day")
            expect(page.locator("#over-time")).to_have_attribute("data-bucket", "day")
            # A month by day and a quarter by week: 31 and 14 points, their text still whole and apart.
            for query in ("period=30d&bucket=day", "since=2026-09-01T00:00&bucket=week"):
                page.goto(f"{fresh_server}/monitoring?{query}")
                expect(page.locator("#mix-time-chart")).to_be_visible()
                for chart in page.evaluate(CHART_TEXT):
                    assert chart["outside"] == [] and chart["overlaps"] == [], (query, chart)
                assert page.evaluate("document.documentElement.scrollWidth") <= width
        finally:
            context.close()
