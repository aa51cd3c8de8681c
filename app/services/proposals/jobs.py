"""A proposal's candidate job, from the server: started once the proposal is stored, and checked on when read.

The job is an ordinary training job (app/services/training/launch.py), so it shows in /api/v1/jobs and keeps to
the same limits; its process trains the candidate (app/services/proposals/candidate.py) and writes the proposal's
comparison itself. A job whose process died before it could (killed, out of time) is found here when the proposal
is next read, and the proposal is marked failed with the job's reason.
"""

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings
from app.core.errors import ModelStoreError, SegmentationError, StorageFull, UnknownJob, is_no_space
from app.db.tables import RetrainProposal
from app.services.proposals import records
from app.services.training.launch import start_job
from app.services.training.store import JobStore

logger = logging.getLogger(__name__)

# A proposal still training without a job id this long after it was stored never got its job (the server stopped
# between storing it and starting the job): it is marked failed when read.
JOB_START_GRACE = timedelta(minutes=5)
NO_JOB_FOLDER = "the training jobs folder cannot be written"


def refuse_when_busy(settings: Settings) -> None:
    """VersionConflict (409, as POST /api/v1/models answers) when no training job can start now.

    Checked before a proposal is stored, so a busy trainer leaves no failed proposal behind; a job another request
    starts in between is still caught by start_candidate, which marks the proposal failed.
    """
    JobStore(settings.job_root).refuse_when_full(limit=settings.train_max_concurrent_jobs)


def start_candidate(
    *,
    settings: Settings,
    sessions: sessionmaker[Session],
    proposal: RetrainProposal,
    key: str | None = None,
    request_id: str | None = None,
) -> str | None:
    """Start the training job of a stored proposal and record its id; the proposal is marked failed when no job can
    start (too many running, no space). Returns the job id, or None then."""
    request = {
        "segmentation": proposal.segmentation,
        "proposal_id": proposal.id,
        "k": None,
        "features": None,
        "seed": None,
        "sweep": False,
        "activate": False,
        "key_id": key,
        "request_id": request_id,
        "data_file": None,
        "data_name": None,
    }
    try:
        job_id = start_job(settings=settings, request=request)
    except SegmentationError as exc:
        logger.warning("the candidate of proposal %s was not started: %s", proposal.id, exc.message)
        with sessions() as session:
            records.fail(session, proposal_id=proposal.id, error=f"no training job started: {exc.message}")
        return None
    except OSError as exc:
        # A read-only or full jobs folder: the proposal must not stay `training` with no job to end it.
        logger.warning("the candidate of proposal %s was not started: %s", proposal.id, exc)
        full = is_no_space(exc)
        why = "no space left for training jobs" if full else NO_JOB_FOLDER
        with sessions() as session:
            records.fail(session, proposal_id=proposal.id, error=f"no training job started: {why}")
        raise (StorageFull if full else ModelStoreError)(
            f"{why}, so the candidate's job was not started and proposal {proposal.id} was marked failed"
        ) from None
    with sessions() as session:
        session.get(RetrainProposal, proposal.id).job_id = job_id
        session.commit()
    return job_id


def starter(*, settings: Settings, sessions: sessionmaker[Session]) -> Callable[[RetrainProposal], None]:
    """What the drift evaluator calls with each proposal it stored: start its job, logging rather than raising."""

    def start(proposal: RetrainProposal) -> None:
        try:
            start_candidate(settings=settings, sessions=sessions, proposal=proposal, key="drift")
        except (SQLAlchemyError, OSError, SegmentationError):
            logger.exception("the candidate of proposal %s was not started", proposal.id)

    return start


def reconcile(
    session: Session, *, settings: Settings, rows: list[RetrainProposal], now: datetime | None = None
) -> None:
    """Mark failed the proposals still training whose job has ended failed without telling them, or that never got a
    job (committed)."""
    jobs = JobStore(settings.job_root)
    stale = (now or datetime.now(UTC)) - JOB_START_GRACE
    for row in rows:
        if row.state != records.TRAINING:
            continue
        if row.job_id is None:
            if row.created_at < stale:
                records.fail(session, proposal_id=row.id, error="no training job was started for its candidate")
                session.refresh(row)
            continue
        try:
            job = jobs.status(row.job_id)
        except (UnknownJob, OSError, ValueError):
            job = {"state": "failed", "error": "its training job is gone"}
        if job["state"] == "failed":
            records.fail(session, proposal_id=row.id, error=f"the training job failed: {job.get('error') or '-'}")
            session.refresh(row)
