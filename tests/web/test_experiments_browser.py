"""/experiments in Chromium: pick a campaign and a conversion event, read the table at 1280 and 375 px (axe-clean),
nothing fetched from elsewhere."""

import shutil
import time

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from app.db.tables import ChallengerAssignment
from app.services.monitoring.log_reader import LogFilter, count
from tests.live_server import live_server
from tests.web.axe import axe_violations, describe
from tests.web.conftest import PageWatch
from tests.web.experiments_data import ADMIN_KEY, OUTCOME_KEY, seed_campaign
from tests.web.screens import WIDTHS, screenshot

pytestmark = pytest.mark.slow
CUSTOMERS = 400


@pytest.fixture
def server(two_versions_template, tmp_path):
    """A live server on two versions, with outcome and admin keys: (url, database url, challenger version)."""
    root = tmp_path / "models_artifacts"
    shutil.copytree(two_versions_template[0], root)
    database = f"sqlite:///{tmp_path / 'experiments.sqlite3'}"
    env = {
        "MODEL_DIR": str(root),
        "AUTO_TRAIN": "false",
        "DATABASE_URL": database,
        "ADMIN_API_KEYS": ADMIN_KEY,
        "OUTCOME_API_KEYS": OUTCOME_KEY,
        "DRIFT_EVALUATION_SECONDS": "0",
    }
    with live_server(env, tmp_path / "server.log") as live:
        yield live.url, database, two_versions_template[2]


def _written(database: str) -> None:
    """Wait until the server's writer threads have stored every assignment and logged prediction."""
    engine = create_engine(database)
    try:
        for _ in range(200):
            with engine.connect() as connection:
                assigned = connection.scalar(select(func.count()).select_from(ChallengerAssignment))
                logged = count(Session(connection), where=LogFilter())
            if assigned == CUSTOMERS and logged == CUSTOMERS:
                return
            time.sleep(0.1)
        raise AssertionError(f"{assigned} assignments and {logged} log rows written, not {CUSTOMERS}")
    finally:
        engine.dispose()


def test_pick_a_campaign_and_read_the_results(browser, server):
    url, database, challenger = server
    with httpx.Client(base_url=url) as client:
        lifted = seed_campaign(client, challenger=challenger, flush=lambda: _written(database), customers=CUSTOMERS)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = PageWatch(page, url)
    page.goto(url + "/")
    page.click('nav[aria-label="Main"] a:has-text("Experiments")')
    expect(page.locator("h1")).to_have_text("Experiments")
    expect(page.locator("#campaign-picker")).to_have_value("spring")
    page.select_option("#event-picker", "purchase")
    page.click("#experiment-form button[type=submit]")
    expect(page.locator("#report-title")).to_contain_text("purchase")
    flagged = page.locator('#experiment-table tr[data-significant="true"]')
    expect(flagged.first).to_be_visible()
    assert lifted in {row.get_attribute("data-segment") for row in flagged.all()}
    expect(page.locator(f'#experiment-table tr[data-segment="{lifted}"] .badge')).to_have_text("Significant")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, "experiments")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        # On a phone each row is a stacked card that still names its p-value.
        expect(page.locator('#experiment-table td[data-role="rate-p"]').first).to_be_visible()
        violations = axe_violations(page)
        assert violations == [], describe(violations)
    assert watch.errors == [] and watch.foreign_requests() == []
    context.close()
