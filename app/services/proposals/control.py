"""Retraining proposals as the API and /models use them: propose on demand, list, read, accept and dismiss."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings
from app.models.versions.registry import ModelRegistry
from app.services.proposals import jobs, logged, records
from app.services.proposals.activation import activate_over_base
from app.services.training.launch import release

DEFAULT_REASON = "asked for by an admin"


def propose(
    *,
    settings: Settings,
    session: Session,
    sessions: sessionmaker[Session],
    registry: ModelRegistry,
    segmentation: str,
    reason: str,
    mix_training: bool,
    key: str | None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Store a manual proposal against the served version and start its candidate's job (503 when none is served,
    422 when too few customers were logged to learn from, 409 when the trainer is busy: nothing is stored then; 503
    when the job's process cannot start, and the stored proposal is marked failed)."""
    active = registry.get()
    logged.refuse_too_few_logged(session, segmentation=segmentation, now=datetime.now(UTC))
    proposal_id = records.new_id()
    # The job's slot is taken before the proposal is stored: a job started by anyone in between cannot leave a
    # stored proposal without one; the later request is the one answered 409.
    reservation = jobs.reserve_candidate(
        settings=settings, segmentation=segmentation, proposal_id=proposal_id, key=key, request_id=request_id
    )
    try:
        row = records.create(
            session,
            segmentation=segmentation,
            trigger=records.MANUAL,
            reason=reason.strip() or DEFAULT_REASON,
            base_version=active.version,
            mix_training=mix_training,
            proposal_id=proposal_id,
            job_id=reservation.job_id,
        )
        session.commit()
    except BaseException:
        release(reservation, settings=settings)
        raise
    records.announce(row)
    jobs.launch_candidate(settings=settings, sessions=sessions, proposal_id=row.id, reservation=reservation)
    session.refresh(row)
    return records.detail(row)


def listing(*, settings: Settings | None, session: Session, segmentation: str, limit: int = 50) -> dict[str, Any]:
    """A segmentation's proposals, newest first (with `settings`, those whose job died are marked failed first)."""
    rows = records.recent(session, segmentation=segmentation, limit=limit)
    if settings is not None:
        jobs.reconcile(session, settings=settings, rows=rows)
    return {"segmentation": segmentation, "proposals": [records.summary(row) for row in rows]}


def detail(*, settings: Settings, session: Session, proposal_id: str) -> dict[str, Any]:
    """One proposal with its whole comparison (404 when unknown)."""
    row = records.get(session, proposal_id=proposal_id)
    jobs.reconcile(session, settings=settings, rows=[row])
    return records.detail(row)


def accept(
    *, session: Session, registry_of: Callable[[str], ModelRegistry], proposal_id: str, key: str
) -> dict[str, Any]:
    """Activate a ready proposal's candidate, with history, as activating a version does (409 unless ready, or when
    another version was activated since the candidate was trained)."""
    row = records.get(session, proposal_id=proposal_id)
    registry = registry_of(row.segmentation)
    # Accepted first (committed, so a concurrent dismissal loses), then activated; a failed activation undoes it.
    records.move(
        session,
        proposal_id=row.id,
        from_states=(records.READY,),
        state=records.ACCEPTED,
        decided_at=datetime.now(UTC),
        decided_by=key[: records.DECIDED_BY_LENGTH],
    )
    session.commit()
    try:
        entry = activate_over_base(
            store=registry.store,
            version=row.candidate_version,
            base_version=row.base_version,
            reason=f"accepted retraining proposal {row.id}: {row.reason}",
            key=key,
        )
    except Exception:
        session.rollback()
        records.unaccept(session, proposal_id=row.id)
        raise
    registry.refresh()
    session.refresh(row)
    return records.detail(row) | {"activation": entry}


def dismiss(*, session: Session, proposal_id: str, key: str) -> dict[str, Any]:
    """Dismiss a proposal that is not decided yet (409 once accepted or dismissed); its candidate stays a version."""
    row = records.get(session, proposal_id=proposal_id)
    records.move(
        session,
        proposal_id=row.id,
        from_states=(records.TRAINING, records.READY, records.FAILED),
        state=records.DISMISSED,
        decided_at=datetime.now(UTC),
        decided_by=key[: records.DECIDED_BY_LENGTH],
    )
    session.commit()
    session.refresh(row)
    return records.detail(row)
