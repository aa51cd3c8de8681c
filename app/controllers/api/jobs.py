"""Training jobs: follow one's state (jobs are started with POST /api/v1/models)."""

from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam

from app.controllers.deps import SettingsDep
from app.schemas.common import error_responses
from app.schemas.jobs import JobStatus
from app.services.training.store import JobStore

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get(
    "/{job_id}",
    response_model=JobStatus,
    summary="A training job's state",
    description="`state` is queued, running, succeeded or failed; `progress` gives rows read and the k sweep step; "
    "on success `version` is the new version, on failure `error` is the one-line reason.",
    responses=error_responses(404, 422),
)
def job_status(job_id: Annotated[str, PathParam(max_length=64)], settings: SettingsDep) -> dict:
    """Where a training job is."""
    return JobStore(settings.job_root).status(job_id)
