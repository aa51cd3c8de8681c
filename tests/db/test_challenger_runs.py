"""A challenger version set again with another share, on SQLite and PostgreSQL: each run records the arms it gave,
and outcomes, the A/B report and the challenger report count every customer in the arm they were last given."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.db.tables import ChallengerAssignment, OutcomeEvent
from tests.db.reading import read_all

ADMIN = {"X-API-Key": "challenger-runs-admin-key"}
CRM = {"X-API-Key": "runs-crm-key-0123456789"}


@pytest.fixture
def client(client_for, database_url, two_versions):
    """A client on the database under test: (client, the challenger's version)."""
    root, _, second = two_versions
    opened = client_for(
        model_dir=root,
        database_url=database_url,
        admin_api_keys=[ADMIN["X-API-Key"]],
        outcome_api_keys=[CRM["X-API-Key"]],
        rate_limit_admin="100000/minute",
    )
    return opened, second


def _run(client, version: str, ids: list[str], share: float) -> dict[str, str]:
    """Set `version` as a split challenger with `share` and predict `ids`: each customer's arm."""
    body = {"version": version, "mode": "split", "share": share}
    assert client.put("/api/v1/challenger", json=body, headers=ADMIN).status_code == 200
    customers = [{"customer_id": i, "annual_income": 60, "spending_score": 50} for i in ids]
    predictions = client.post("/api/v1/predict/batch", json={"customers": customers}).json()["predictions"]
    assert client.app.state.challenger_assignments.flush() and client.app.state.prediction_log.flush()
    return {p["customer_id"]: p["arm"] for p in predictions}


def test_outcomes_count_in_the_arm_a_new_share_gave_their_customer(client, database_url):
    client, second = client
    first_run = _run(client, second, [f"N-{i}" for i in range(60)], share=0.2)
    # The same version set again with a larger share: a new run, in which some champion customers move over.
    served_again = _run(client, second, list(first_run)[:40], share=0.8)
    moved = [c for c in served_again if served_again[c] != first_run[c]]
    assert moved and all(served_again[c] == "challenger" for c in moved)
    assert len(read_all(database_url, select(ChallengerAssignment.id))) == 60 + 40
    soon = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    events = [{"customer_id": c, "event": "purchase", "campaign": "ramp", "occurred_at": soon} for c in first_run]
    stored = client.post("/api/v1/outcomes", json={"events": events}, headers=CRM)
    assert stored.status_code == 200 and stored.json()["matched"] == 60
    # Each outcome takes the arm the customer was last given: the new run's for those it served, else the first's.
    last_given = first_run | served_again
    assert {row.customer_id: row.arm for row in read_all(database_url, select(OutcomeEvent))} == last_given
    by_arm = {arm: list(last_given.values()).count(arm) for arm in ("champion", "challenger")}
    report = client.get("/api/v1/experiments/ramp", params={"event": "purchase"}).json()
    assert {arm["arm"]: arm["customers"] for segment in report["segments"] for arm in segment["arms"]} == by_arm
    # The challenger report counts its customers in the same arms.
    assert client.get("/api/v1/challenger/report").json()["assignments_by_arm"] == by_arm
