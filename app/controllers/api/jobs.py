"""Training jobs: follow one's state (jobs are started with POST /api/v1/models)."""

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam

from app.controllers.deps import AdminKeyDep, SettingsDep
from app.core.errors import UnknownJob
from app.schemas.common import error_responses
from app.schemas.jobs import JobList, JobStatus
from app.services.training.store import JobStore, job_segmentation

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get(
    "",
    response_model=JobList,
    summary="Recent training jobs",
    description="The newest training jobs first (at most 50): under /api/v1/segmentations/{name}/jobs only that "
    "segmentation's, at /api/v1/jobs every segmentation's. Needs the admin key: a job id is otherwise a handle only "
    "its starter knows.",
    responses=error_responses(401, 403, 429),
)
def recent_jobs(request: Request, settings: SettingsDep, key: AdminKeyDep) -> dict:
    """Recent jobs, newest first."""
    jobs = JobStore(settings.job_root, model_dir=settings.model_dir).recent(
        segmentation=request.path_params.get("segmentation")
    )
    return {"jobs": [_with_segmentation(job) for job in jobs]}


def _with_segmentation(job: dict) -> dict:
    return {**job, "segmentation": job_segmentation(job)}


@router.get(
    "/{job_id}",
    response_model=JobStatus,
    summary="A training job's state",
    description="`state` is queued, running, succeeded or failed; `progress` gives rows read and the k sweep step; "
    "on success `version` is the new version, on failure `error` is the one-line reason.",
    responses=error_responses(404, 422),
)
def job_status(
    job_id: Annotated[str, PathParam(max_length=64, description="The `job_id` training answered with.")],
    request: Request,
    settings: SettingsDep,
) -> dict:
    """Where a training job is (under a segmentation's path, only that segmentation's jobs)."""
    job = JobStore(settings.job_root, model_dir=settings.model_dir).status(job_id)
    asked = request.path_params.get("segmentation")
    if asked is not None and job_segmentation(job) != asked:
        raise UnknownJob(f"no training job {job_id[:64]!r} of segmentation {asked!r}")
    return _with_segmentation(job)
