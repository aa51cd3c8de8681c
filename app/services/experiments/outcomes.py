"""Outcome events: stored with what each customer was given, found at arrival.

The arm and version come from `challenger_assignments` (recorded once per customer and run, never expired): the run
of a challenger going on when the event occurred, and the customer's newest assignment of that run's version made
before the event, in this run or an earlier run of the same version (a version set again is the same experiment, and
the customer is still in it, in the arm they were last given). So an event never takes the arm of a later
experiment, of another version's, or of a run stopped before it. An event that occurred before the customer's first
assignment keeps that assignment's time (`assigned_at`) and no arm: the report leaves it out and counts it. The
segment comes from the customer's newest logged prediction of the segmentation (log_reader.newest_by_customer).
Joining at arrival keeps the report a read of one table, and keeps an outcome's segment even after the log row it
came from has expired.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.core.metrics import record_outcomes
from app.db.tables import CUSTOMER_ID_LENGTH, ChallengerAssignment, OutcomeEvent
from app.schemas.outcomes import OutcomeEventIn
from app.services.monitoring.log_reader import newest_by_customer

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


@dataclass(frozen=True, slots=True)
class Assignment:
    """A customer's first assignment in one run of an experiment (the segmentation's challenger `experiment`)."""

    arm: str
    version: str
    experiment: str
    first_seen: datetime


@dataclass(frozen=True, slots=True)
class Window:
    """One run of a challenger, from its `set` to the next change of the setting (None while it runs)."""

    experiment: str
    start: datetime
    end: datetime | None


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def experiment_windows(history: Sequence[Mapping[str, Any]]) -> list[Window]:
    """Each run of a challenger in the challenger history: set, then stopped, promoted, cleared or replaced."""
    windows: list[Window] = []
    running: tuple[str, datetime] | None = None
    for entry in history:
        try:
            at = datetime.fromisoformat(entry["at"])
        except (KeyError, TypeError, ValueError):
            continue
        if running is not None:
            windows.append(Window(running[0], running[1], at))
            running = None
        if entry.get("event") == "set" and isinstance(entry.get("version"), str):
            running = (entry["version"], at)
    if running is not None:
        windows.append(Window(running[0], running[1], None))
    return windows


def _run_at(windows: Sequence[Window], at: datetime) -> Window | None:
    """The run going on at `at` (None between runs)."""
    return next((w for w in windows if w.start <= at and (w.end is None or at < w.end)), None)


def _assignments(session: Session, segmentation: str, ids: Sequence[str]) -> dict[str, list[Assignment]]:
    """Each customer's recorded assignments, one per run, oldest first."""
    table = ChallengerAssignment
    found: dict[str, list[Assignment]] = defaultdict(list)
    for chunk in _chunks(ids):
        rows = session.execute(
            select(table.customer_id, table.arm, table.version, table.challenger_version, table.first_seen)
            .where(table.segmentation == segmentation, table.customer_id.in_(chunk))
            .order_by(table.first_seen, table.id)
        )
        for customer_id, arm, version, experiment, first_seen in rows:
            found[customer_id].append(Assignment(arm, version, experiment, first_seen))
    return found


def assignment_at(
    assignments: Sequence[Assignment], windows: Sequence[Window], at: datetime
) -> tuple[Assignment | None, datetime | None]:
    """The assignment (oldest first) an event at `at` counts in and its time; (None, the first assignment's time)
    for an event before every assignment; (None, None) when none of the customer's experiments was running then."""
    before = [a for a in assignments if a.first_seen <= at]
    if not before:
        return None, min((a.first_seen for a in assignments), default=None)
    run = _run_at(windows, at)
    if run is not None:
        # Any run of the version counts: a customer assigned in an earlier run is served again by this one, and the
        # newest assignment is the arm they were last given before the event.
        enrolled = [a for a in before if a.experiment == run.experiment]
        if enrolled:
            return enrolled[-1], enrolled[-1].first_seen
    current = before[-1]
    if any(w.experiment == current.experiment for w in windows):
        return None, None
    # A version the history has no run of (no history at all, or lines it lost): its run is taken as running.
    return current, current.first_seen


def _last_predictions(session: Session, segmentation: str, ids: Sequence[str]) -> dict[str, Given]:
    """Each customer's newest logged prediction: its segment, version and arm."""
    columns = ("arm", "model_version", "segment_id", "segment_name")
    found = newest_by_customer(session, segmentation=segmentation, customer_ids=ids, columns=columns)
    return {customer_id: Given(*values) for customer_id, values in found.items()}


def _match(
    last: Given | None, assignments: Sequence[Assignment], windows: Sequence[Window], at: datetime
) -> tuple[Given | None, datetime | None]:
    """What the customer was given for an event at `at` (None: never seen), and when they were assigned."""
    if last is None and not assignments:
        return None, None
    last = last or Given()
    assignment, assigned_at = assignment_at(assignments, windows, at)
    if assignment is None:
        # No arm without an assignment made before the event: the log's arm is its newest prediction's, maybe later.
        return Given(None, last.version, last.segment_id, last.segment_name), assigned_at
    return Given(assignment.arm, assignment.version, last.segment_id, last.segment_name), assigned_at


def customer_text(customer_id: int | str) -> str:
    """A customer id as the prediction log and the assignments keep it."""
    return str(customer_id)[:CUSTOMER_ID_LENGTH]


def store_outcomes(
    *,
    session: Session,
    segmentation: str,
    events: Sequence[OutcomeEventIn],
    history: Sequence[Mapping[str, Any]] = (),
) -> dict[str, int]:
    """Store the events joined to their customers (`history`: the challenger history); stored, matched, unmatched."""
    ids = [customer_text(event.customer_id) for event in events]
    unique = sorted(set(ids))
    assigned = _assignments(session, segmentation, unique)
    logged = _last_predictions(session, segmentation, unique)
    windows = experiment_windows(history)
    now = datetime.now(UTC)
    rows = []
    for customer_id, event in zip(ids, events, strict=True):
        match, assigned_at = _match(logged.get(customer_id), assigned.get(customer_id, ()), windows, event.occurred_at)
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
                "assigned_at": assigned_at,
            }
        )
    session.execute(insert(OutcomeEvent), rows)
    session.commit()
    matched = sum(row["matched"] for row in rows)
    record_outcomes(segmentation=segmentation, matched=matched, unmatched=len(rows) - matched)
    return {"segmentation": segmentation, "stored": len(rows), "matched": matched, "unmatched": len(rows) - matched}
