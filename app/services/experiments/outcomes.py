"""Outcome events: stored with what each customer was given, found at arrival.

The arm and version come from `challenger_assignments` (recorded once per customer and experiment, never expired);
the segment from the customer's newest `prediction_log` row of the segmentation. Joining at arrival keeps the report
a read of one table, and keeps an outcome's segment even after the log row it came from has expired.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.core.metrics import record_outcomes
from app.db.tables import CUSTOMER_ID_LENGTH, ChallengerAssignment, OutcomeEvent, PredictionLog
from app.schemas.outcomes import OutcomeEventIn

# Customer ids per IN (...) query: a whole request's in one pass over the log (the log has no customer index, and each
# query reads it through), within SQLite's (32,766) and PostgreSQL's (65,535) limits on bound parameters.
CHUNK = 10_000


@dataclass(frozen=True, slots=True)
class Given:
    """What a customer was given: the arm and version that served them, and their last segment."""

    arm: str | None = None
    version: str | None = None
    segment_id: int | None = None
    segment_name: str | None = None


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _assignments(session: Session, segmentation: str, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Each customer's newest recorded assignment: (arm, version)."""
    table = ChallengerAssignment
    found: dict[str, tuple[str, str]] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(table.customer_id, table.arm, table.version)
            .where(table.segmentation == segmentation, table.customer_id.in_(chunk))
            .order_by(table.first_seen, table.id)
        )
        for customer_id, arm, version in rows:
            found[customer_id] = (arm, version)  # ordered oldest first: the newest experiment wins
    return found


def _last_predictions(session: Session, segmentation: str, ids: Sequence[str]) -> dict[str, Given]:
    """Each customer's newest logged prediction: its segment, version and arm."""
    log = PredictionLog
    found: dict[str, Given] = {}
    for chunk in _chunks(ids):
        newest = (
            select(func.max(log.id).label("id"))
            .where(log.segmentation == segmentation, log.customer_id.in_(chunk))
            .group_by(log.customer_id)
            .subquery()
        )
        rows = session.execute(
            select(log.customer_id, log.arm, log.model_version, log.segment_id, log.segment_name).join(
                newest, log.id == newest.c.id
            )
        )
        for customer_id, arm, version, segment_id, segment_name in rows:
            found[customer_id] = Given(arm, version, segment_id, segment_name)
    return found


def match_customers(*, session: Session, segmentation: str, customer_ids: Sequence[str]) -> dict[str, Given]:
    """What each customer seen before was given (customers never seen are left out)."""
    ids = sorted(set(customer_ids))
    assigned = _assignments(session, segmentation, ids)
    logged = _last_predictions(session, segmentation, ids)
    given: dict[str, Given] = {}
    for customer_id in assigned.keys() | logged.keys():
        last = logged.get(customer_id, Given())
        arm, version = assigned.get(customer_id, (last.arm, last.version))
        given[customer_id] = Given(arm, version, last.segment_id, last.segment_name)
    return given


def customer_text(customer_id: int | str) -> str:
    """A customer id as the prediction log and the assignments keep it."""
    return str(customer_id)[:CUSTOMER_ID_LENGTH]


def store_outcomes(*, session: Session, segmentation: str, events: Sequence[OutcomeEventIn]) -> dict[str, int]:
    """Store the events joined to their customers; counts of stored, matched and unmatched events."""
    ids = [customer_text(event.customer_id) for event in events]
    given = match_customers(session=session, segmentation=segmentation, customer_ids=ids)
    now = datetime.now(UTC)
    rows = []
    for customer_id, event in zip(ids, events, strict=True):
        match = given.get(customer_id)
        rows.append(
            {
                "received_at": now,
                "occurred_at": event.occurred_at,
                "segmentation": segmentation,
                "customer_id": customer_id,
                "event": event.event,
                "value": event.value,
                "campaign": event.campaign,
                "matched": match is not None,
                "arm": match and match.arm,
                "version": match and match.version,
                "segment_id": match and match.segment_id,
                "segment_name": match and match.segment_name,
            }
        )
    session.execute(insert(OutcomeEvent), rows)
    session.commit()
    matched = sum(row["matched"] for row in rows)
    record_outcomes(segmentation=segmentation, matched=matched, unmatched=len(rows) - matched)
    return {"segmentation": segmentation, "stored": len(rows), "matched": matched, "unmatched": len(rows) - matched}
