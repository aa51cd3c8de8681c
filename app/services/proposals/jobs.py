"""A proposal's candidate job, from the server: its slot reserved before a manual proposal is stored, started once the
proposal is, and checked on when read.

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
from app.services.training.launch import Reservation, launch_job, release, reserve_job
from app.services.training.store import JobStore, job_files

logger = logging.getLogger(__name__)

# A proposal still training without a job id this long after it was stored never got its job (the server stopped
# between storing it and starting the job): it is marked failed when read.
JOB_START_GRACE = timedelta(minutes=5)
NO_JOB_FOLDER = "the training jobs folder cannot be written"


def _request(*, segmentation: str, proposal_id: str, key: str | None, request_id: str | None) -> dict:
    """job.json's params of a proposal's candidate: the job trains whatever the proposal says."""
    return {
        "segmentation": segmentation,
        "proposal_id": proposal_id,
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


def reserve_candidate(
    *, settings: Settings, segmentation: str, proposal_id: str, key: str | None = None, request_id: str | None = None
) -> Reservation:
    """Hold a training job's slot for a proposal's candidate, within the limit of running jobs: VersionConflict
    (409, as POST /api/v1/models answers) when no job can start now, ModelStoreError (503) when the jobs folder is
    full. Made before a manual proposal is stored, so a trainer busy at any moment before leaves nothing stored."""
    request = _request(segmentation=segmentation, proposal_id=proposal_id, key=key, request_id=request_id)
    with job_files(settings.job_root):
        return reserve_job(settings=settings, request=request)


def _failed(sessions: sessionmaker[Session], proposal_id: str, exc: Exception) -> SegmentationError:
    """Mark a stored proposal whose job did not start failed, with why; the error to raise (503 for the disk)."""
    if isinstance(exc, SegmentationError):
        why, error = exc.message, exc
    else:
        # A read-only or full jobs folder: the proposal must not stay `training` with no job to end it.
        full = is_no_space(exc)
        why = "no space left for training jobs" if full else NO_JOB_FOLDER
        error = (StorageFull if full else ModelStoreError)(
            f"{why}, so the candidate's job was not started and proposal {proposal_id} was marked failed"
        )
    logger.warning("the candidate of proposal %s was not started: %s", proposal_id, exc)
    with sessions() as session:
        records.fail(session, proposal_id=proposal_id, error=f"no training job started: {why}", job_started=False)
    return error


def launch_candidate(
    *, settings: Settings, sessions: sessionmaker[Session], proposal_id: str, reservation: Reservation
) -> str:
    """Start the reserved job of a stored proposal; return its id. When its process cannot start, the proposal is
    marked failed with why and a 503 is raised."""
    try:
        return launch_job(reservation=reservation, settings=settings)
    except (SegmentationError, OSError) as exc:
        raise _failed(sessions, proposal_id, exc) from None


def start_candidate(
    *, settings: Settings, sessions: sessionmaker[Session], proposal: RetrainProposal, key: str | None = None
) -> str | None:
    """Start the training job of a proposal stored without one (by the drift evaluator) and record its id. When no job
    can start, the proposal is marked failed: None when too many are running, the 503 raised otherwise."""
    try:
        reservation = reserve_candidate(
            settings=settings, segmentation=proposal.segmentation, proposal_id=proposal.id, key=key
        )
    except SegmentationError as exc:
        _failed(sessions, proposal.id, exc)
        return None
    except OSError as exc:
        raise _failed(sessions, proposal.id, exc) from None
    try:
        with sessions() as session:
            session.get(RetrainProposal, proposal.id).job_id = reservation.job_id
            session.commit()
    except BaseException:
        release(reservation, settings=settings)
        raise
    return launch_candidate(settings=settings, sessions=sessions, proposal_id=proposal.id, reservation=reservation)


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
    jobs = JobStore(settings.job_root, model_dir=settings.model_dir)
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
