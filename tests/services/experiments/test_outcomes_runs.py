"""Outcomes of a challenger version run twice, stored and reported: each counts for the customer's arm in its run."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from app.db.tables import ChallengerAssignment, OutcomeEvent
from app.schemas.outcomes import OutcomeEventIn
from app.services.experiments.outcomes import store_outcomes
from app.services.experiments.report import experiment_report
from tests.services.monitoring.test_reads import database, session  # noqa: F401 - a migrated SQLite log

START = datetime(2026, 11, 2, tzinfo=UTC)


def _at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


# Version v2 against the champion v1: run from 0 to 3, and again from 4.
HISTORY = [
    {"at": _at(0).isoformat(), "event": "set", "version": "v2"},
    {"at": _at(3).isoformat(), "event": "stopped", "version": "v2"},
    {"at": _at(4).isoformat(), "event": "set", "version": "v2"},
]


def _assign(db, customer_id: str, arm: str, hours: float) -> None:
    row = {
        "assignment_key": f"key-{customer_id}",
        "segmentation": "default",
        "customer_id": customer_id,
        "arm": arm,
        "version": "v2" if arm == "challenger" else "v1",
        "challenger_version": "v2",
        "mode": "split",
        "first_seen": _at(hours),
    }
    db.execute(insert(ChallengerAssignment), [row])
    db.commit()


def _event(customer_id: str, hours: float) -> OutcomeEventIn:
    return OutcomeEventIn.model_validate(
        {"customer_id": customer_id, "event": "purchase", "campaign": "rerun", "occurred_at": _at(hours).isoformat()}
    )


def test_outcomes_in_the_second_run_count_for_arms_given_in_the_first(session):  # noqa: F811
    for customer_id, arm in [("A-1", "challenger"), ("A-2", "challenger"), ("B-1", "champion"), ("GAP", "champion")]:
        _assign(session, customer_id, arm, hours=1)
    _assign(session, "LATE", "challenger", hours=6)  # first given an arm in the second run, after its outcome
    events = [_event(c, hours=5) for c in ("A-1", "A-2", "B-1", "LATE")] + [_event("GAP", hours=3.5)]
    stored = store_outcomes(session=session, segmentation="default", events=events, history=HISTORY)
    assert stored["matched"] == 5
    rows = {row.customer_id: row for row in session.scalars(select(OutcomeEvent))}
    assert {c: (rows[c].arm, rows[c].version) for c in ("A-1", "A-2", "B-1")} == {
        "A-1": ("challenger", "v2"),
        "A-2": ("challenger", "v2"),
        "B-1": ("champion", "v1"),
    }
    # Between the runs no arm served anyone; before its first assignment the outcome is counted apart.
    assert (rows["GAP"].arm, rows["GAP"].assigned_at) == (None, None)
    assert (rows["LATE"].arm, rows["LATE"].assigned_at) == (None, _at(6))
    report = experiment_report(session=session, segmentation="default", campaign="rerun", event="purchase")
    (segment,) = report["segments"]
    assert {arm["arm"]: arm["conversions"] for arm in segment["arms"]} == {"champion": 1, "challenger": 2, "none": 1}
    assert report["outcomes_before_assignment"] == 1
