"""The /experiments page: campaign picker, the segment × arm table with p-values, highlights and warnings."""

import re
from datetime import UTC, datetime

import pytest

from tests.web.experiments_data import ADMIN_KEY, OUTCOME_KEY, seed_campaign


@pytest.fixture
def client(client_for, two_versions, tmp_path):
    root, _, second = two_versions
    client = client_for(
        model_dir=root,
        database_url=f"sqlite:///{tmp_path / 'page.sqlite3'}",
        admin_api_keys=[ADMIN_KEY],
        outcome_api_keys=[OUTCOME_KEY],
    )
    return client, second


def _flush(client):
    def flush():
        assert client.app.state.challenger_assignments.flush() and client.app.state.prediction_log.flush()

    return flush


def test_without_outcomes_the_page_says_how_to_start(client):
    client, _ = client
    page = client.get("/experiments")
    assert page.status_code == 200
    assert 'id="experiments-empty"' in page.text and "OUTCOME_API_KEYS" in page.text


def test_the_page_shows_the_report_and_highlights_the_lift(client):
    client, second = client
    lifted = seed_campaign(client, challenger=second, flush=_flush(client))
    page = client.get("/experiments", params={"campaign": "spring", "event": "purchase"})
    assert page.status_code == 200
    report = client.get("/api/v1/experiments/spring", params={"event": "purchase"}).json()
    rows = re.findall(r'<tr data-segment="([^"]+)" data-arm="([^"]+)"( class="significant")?', page.text)
    expected = [(s["segment"], a["arm"]) for s in report["segments"] for a in s["arms"]]
    assert [(segment.replace("&#34;", '"'), arm) for segment, arm, _ in rows] == expected
    flagged = {segment for segment, _, significant in rows if significant}
    assert flagged == {s["segment"] for s in report["segments"] if s["significant"]}
    assert lifted in flagged
    assert '<option value="purchase" selected>' in page.text and 'value="spring" selected' in page.text
    assert "/api/v1/experiments/spring?event=purchase" in page.text
    # Every warning of the report is on the page.
    for segment in report["segments"]:
        for warning in segment["warnings"]:
            assert warning in page.text


def test_an_unknown_campaign_shows_the_newest_with_a_notice(client):
    client, second = client
    seed_campaign(client, challenger=second, flush=_flush(client), customers=60)
    page = client.get("/experiments", params={"campaign": "nosuch", "event": "refund"})
    assert page.status_code == 200
    assert 'id="unknown-campaign"' in page.text and 'value="spring" selected' in page.text
    assert '<option value="" selected>any event</option>' in page.text


@pytest.mark.parametrize("campaign", ["spring", "nosuch"])
def test_an_event_the_campaign_does_not_have_is_named_with_its_events_and_no_figures(client, campaign):
    client, second = client
    seed_campaign(client, challenger=second, flush=_flush(client), customers=60)
    events = client.get("/api/v1/experiments/spring", params={"event": "nothing"}).json()["event_names"]
    page = client.get("/experiments", params={"campaign": campaign, "event": "nothing"})
    assert page.status_code == 200
    notice = re.search(r'<p class="notice notice-page" id="unknown-event">(.*?)</p>', page.text)
    assert notice is not None
    assert "has no “nothing” events" in notice[1]
    assert "its events are " + ", ".join(f"“{name}”" for name in events) in notice[1]
    # No table, so no figures of another event read as the one asked for.
    assert 'id="experiment-table"' not in page.text and "100.0%" not in page.text


def test_the_nav_links_the_page(client):
    client, _ = client
    page = client.get("/runs")
    assert 'href="/experiments"' in page.text


def test_the_empty_state_speaks_to_analysts_before_the_technical_detail(client):
    client, _ = client
    page = client.get("/experiments")
    assert page.status_code == 200
    empty = re.search(r'id="experiments-empty"[^>]*>(.*?)</p>', page.text, re.S).group(1)
    plain, _, technical = empty.partition("Technical detail:")
    assert "campaign appears here" in plain and "POST" not in plain and "OUTCOME_API_KEYS" not in plain
    assert "POST /api/v1/outcomes" in technical and "OUTCOME_API_KEYS" in technical


def _verdict(page: str) -> str:
    return " ".join(re.search(r'<p class="muted" id="report-verdict">(.*?)</p>', page, re.S).group(1).split())


def test_a_campaign_with_no_challenger_says_no_segment_was_tested(client):
    client, _ = client
    rows = [{"customer_id": f"N-{n}", "annual_income": 20 + n, "spending_score": 10 + n} for n in range(60)]
    assert client.post("/api/v1/predict/batch", json={"customers": rows}).status_code == 200
    _flush(client)()
    when = datetime.now(UTC).isoformat()
    events = [{"customer_id": r["customer_id"], "event": "sent", "campaign": "solo", "occurred_at": when} for r in rows]
    stored = client.post("/api/v1/outcomes", json={"events": events}, headers={"X-API-Key": OUTCOME_KEY})
    assert stored.status_code == 200
    page = client.get("/experiments", params={"campaign": "solo", "event": "sent"})
    assert page.status_code == 200
    verdict = _verdict(page.text)
    assert verdict.startswith("60 customers. No segment could be tested"), verdict
    assert "significant" not in verdict.lower()


def test_the_report_says_how_many_tested_segments_differ(client):
    client, second = client
    seed_campaign(client, challenger=second, flush=_flush(client))
    report = client.get("/api/v1/experiments/spring", params={"event": "purchase"}).json()
    tested = [s for s in report["segments"] if s["rate_test"] or s["value_test"]]
    significant = sum(s["significant"] for s in tested)
    page = client.get("/experiments", params={"campaign": "spring", "event": "purchase"})
    assert f"{significant} of the {len(tested)} tested segments differ" in _verdict(page.text)
