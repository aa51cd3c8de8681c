"""Retraining proposals in the database: created (with proposal.created, in the same transaction), listed, read and
moved through their states.

A proposal is `training` while its candidate's job runs, then `ready` (compared, waiting for an admin) or `failed`,
and ends `accepted` (the candidate was activated) or `dismissed`.
"""

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.core.errors import UnknownProposal, VersionConflict
from app.core.metrics import record_proposal_created
from app.db.tables import DriftCheck, RetrainProposal
from app.services.notifications.events import PROPOSAL_CREATED, emit_on

logger = logging.getLogger(__name__)

TRAINING, READY, ACCEPTED, DISMISSED, FAILED = "training", "ready", "accepted", "dismissed", "failed"
DRIFT, MANUAL = "drift", "manual"
REASON_LENGTH = 500
ERROR_LENGTH = 500
DECIDED_BY_LENGTH = 300
# What a stored check is called in a reason ("feature:annual_income" names its feature).
_CHECK_WORDS = {
    "segment_mix": "the segment mix",
    "atypical": "atypical customers",
    "out_of_range": "out-of-range values",
}


def drift_reason(check: DriftCheck) -> str:
    """The sentence shown for a proposal from drift: which checks drifted, and since when."""
    drifted = [c["check"] for c in check.checks if c.get("status") == "drift" and c["check"] != "overall"]
    names = [
        name.removeprefix("feature:") if name.startswith("feature:") else _CHECK_WORDS.get(name, name)
        for name in drifted
    ]
    since = check.evaluated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"drift in {', '.join(names) or 'the traffic'} since {since}"[:REASON_LENGTH]


def new_id() -> str:
    """A new proposal's id."""
    return uuid.uuid4().hex


def create(
    session: Session,
    *,
    segmentation: str,
    trigger: str,
    reason: str,
    base_version: str,
    mix_training: bool = False,
    now: datetime | None = None,
    proposal_id: str | None = None,
    job_id: str | None = None,
) -> RetrainProposal:
    """Add a proposal (state training) and its proposal.created event, in the caller's transaction (not committed).
    `proposal_id` and `job_id` are given when its candidate's job was reserved before it was stored."""
    row = RetrainProposal(
        id=proposal_id or new_id(),
        created_at=now or datetime.now(UTC),
        segmentation=segmentation,
        trigger=trigger,
        reason=reason[:REASON_LENGTH],
        state=TRAINING,
        base_version=base_version,
        mix_training=mix_training,
        job_id=job_id,
    )
    session.add(row)
    session.flush()
    # In the proposal's own transaction: the event exists exactly when the proposal does.
    emit_on(session.connection(), event=PROPOSAL_CREATED, payload=summary(row), key=f"proposal:{row.id}")
    return row


def propose_on_drift(
    session: Session, *, check: DriftCheck, cooldown: timedelta, now: datetime
) -> RetrainProposal | None:
    """A proposal for a segmentation whose drift has just turned, unless one was created within `cooldown`; in the
    caller's transaction, which the drift evaluator holds under its lock, so two workers never both create one."""
    since = now - cooldown
    recent = session.scalar(
        select(RetrainProposal.id)
        .where(RetrainProposal.segmentation == check.segmentation, RetrainProposal.created_at > since)
        .limit(1)
    )
    if recent is not None:
        logger.info("drift in %s proposes no retraining: %s is within the cooldown", check.segmentation, recent)
        return None
    return create(
        session,
        segmentation=check.segmentation,
        trigger=DRIFT,
        reason=drift_reason(check),
        base_version=check.model_version,
        now=now,
    )


def announce(row: RetrainProposal) -> None:
    """The log line and the metric of a stored proposal (after its transaction committed)."""
    logger.info("retraining proposed for %s (%s): %s; proposal %s", row.segmentation, row.trigger, row.reason, row.id)
    record_proposal_created(segmentation=row.segmentation, trigger=row.trigger)


def summary(row: RetrainProposal) -> dict[str, Any]:
    """A proposal as lists show it: its reason, state, versions and the comparison's summary."""
    comparison = row.comparison or {}
    return {
        "id": row.id,
        "created_at": row.created_at.isoformat(),
        "segmentation": row.segmentation,
        "trigger": row.trigger,
        "reason": row.reason,
        "state": row.state,
        "base_version": row.base_version,
        "candidate_version": row.candidate_version,
        "job_id": row.job_id,
        "mix_training": bool(row.mix_training),
        "error": row.error,
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        "decided_by": row.decided_by,
        "summary": comparison.get("summary"),
    }


def detail(row: RetrainProposal) -> dict[str, Any]:
    """A proposal with its whole comparison."""
    return summary(row) | {"comparison": row.comparison}


def recent(session: Session, *, segmentation: str, limit: int = 50) -> list[RetrainProposal]:
    """A segmentation's proposals, newest first."""
    return list(
        session.scalars(
            select(RetrainProposal)
            .where(RetrainProposal.segmentation == segmentation)
            .order_by(RetrainProposal.created_at.desc(), RetrainProposal.id)
            .limit(limit)
        )
    )


def get(session: Session, *, proposal_id: str) -> RetrainProposal:
    """One proposal; UnknownProposal (404) when there is none with this id."""
    row = session.get(RetrainProposal, proposal_id[:32])
    if row is None:
        raise UnknownProposal(f"no retraining proposal {proposal_id[:64]!r}")
    return row


def move(session: Session, *, proposal_id: str, from_states: tuple[str, ...], **changes: Any) -> None:
    """Change a proposal only while it is in one of `from_states` (one UPDATE, so two deciders cannot both win);
    VersionConflict (409) otherwise. Not committed."""
    done = session.execute(
        update(RetrainProposal)
        .where(RetrainProposal.id == proposal_id, RetrainProposal.state.in_(from_states))
        .values(**changes)
    ).rowcount
    if not done:
        state = get(session, proposal_id=proposal_id).state
        raise VersionConflict(f"proposal {proposal_id} is {state}: this needs it to be {' or '.join(from_states)}")


def unaccept(session: Session, *, proposal_id: str, error: str | None = None) -> None:
    """Put an accepted proposal whose activation did not happen back to ready, undecided, with why when given
    (committed)."""
    why = {} if error is None else {"error": error[:ERROR_LENGTH]}
    undecided = {"state": READY, "decided_at": None, "decided_by": None}
    move(session, proposal_id=proposal_id, from_states=(ACCEPTED,), **undecided, **why)
    session.commit()


def fail(session: Session, *, proposal_id: str, error: str, job_started: bool = True) -> None:
    """Mark a proposal whose candidate could not be trained as failed, with why (committed); without its job id when
    that job never started (its folder is gone)."""
    unstarted = {} if job_started else {"job_id": None}
    session.execute(
        update(RetrainProposal)
        .where(RetrainProposal.id == proposal_id, RetrainProposal.state == TRAINING)
        .values(state=FAILED, error=error[:ERROR_LENGTH], **unstarted)
    )
    session.commit()
