"""A proposal's candidate job, from the server: started once the proposal is stored, and checked on when read.

The job is an ordinary training job (app/services/training/launch.py), so it shows in /api/v1/jobs and keeps to
the same limits; its process trains the candidate (app/services/proposals/candidate.py) and writes the proposal's
comparison itself. A job whose process died before it could (killed, out of time) is found here when the proposal
is next read, and the proposal is marked failed with the job's reason.
"""

import logging
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings
from app.core.errors import SegmentationError, UnknownJob
from app.db.tables import RetrainProposal
from app.services.proposals import records
from app.services.training.launch import start_job
from app.services.training.store import JobStore

logger = logging.getLogger(__name__)


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
    with sessions() as session:
        session.get(RetrainProposal, proposal.id).job_id = job_id
        session.commit()
    return job_id


def starter(*, settings: Settings, sessions: sessionmaker[Session]) -> Callable[[RetrainProposal], None]:
    """What the drift evaluator calls with each proposal it stored: start its job, logging rather than raising."""

    def start(proposal: RetrainProposal) -> None:
        try:
            start_candidate(settings=settings, sessions=sessions, proposal=proposal, key="drift")
        except (SQLAlchemyError, OSError):
            logger.exception("the candidate of proposal %s was not started", proposal.id)

    return start


def reconcile(session: Session, *, settings: Settings, rows: list[RetrainProposal]) -> None:
    """Mark failed the proposals still training whose job has ended failed without telling them (committed)."""
    jobs = JobStore(settings.job_root)
    for row in rows:
        if row.state != records.TRAINING or row.job_id is None:
            continue
        try:
            job = jobs.status(row.job_id)
        except (UnknownJob, OSError, ValueError):
            job = {"state": "failed", "error": "its training job is gone"}
        if job["state"] == "failed":
            records.fail(session, proposal_id=row.id, error=f"the training job failed: {job.get('error') or '-'}")
            session.refresh(row)
