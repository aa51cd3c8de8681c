"""Training jobs: start one from an uploaded CSV (admin key), and follow its state."""

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi import Path as PathParam

from app.controllers.admin_route import AdminKeyFirstRoute
from app.controllers.deps import AdminKeyDep, SettingsDep
from app.schemas.common import error_responses
from app.schemas.lifecycle import JobAccepted, JobStatus
from app.services.training import jobs

router = APIRouter(prefix="/jobs", tags=["jobs"])
# Included on its own in app/main.py, with the upload size limit instead of the JSON body limit.
# AdminKeyFirstRoute: a missing or wrong admin key is refused before the upload is read.
upload_router = APIRouter(prefix="/models", tags=["models"], route_class=AdminKeyFirstRoute)


@upload_router.post(
    "",
    status_code=202,
    response_model=JobAccepted,
    summary="Train a new version",
    description="Starts a training job in a separate process on the uploaded CSV (field `file`), or on the bundled "
    "data when no file is sent. Answers 202 with the job id and its URL in `Location`; follow it at "
    "`/api/v1/jobs/{job_id}`. The new version is activated only with `activate=true` (or when none is active).",
    responses=error_responses(400, 401, 403, 409, 413, 415, 422, 429, 503),
)
def start_training(
    request: Request,
    response: Response,
    settings: SettingsDep,
    key: AdminKeyDep,
    # Typed without `| None` so the schema says "a file, or leave the field out", not "a file or null".
    file: Annotated[UploadFile, File(description="Customer CSV (public header or snake_case).")] = None,  # type: ignore[assignment]
    k: Annotated[str, Form(max_length=8, description="Number of segments (2-10) or 'auto'.")] = "5",
    features: Annotated[
        str, Form(max_length=200, description="Comma-separated feature names.")
    ] = "annual_income,spending_score",
    seed: Annotated[int, Form(ge=0, le=2**31 - 1)] = 42,
    activate: Annotated[bool, Form()] = False,
) -> dict:
    """Queue a training job (plain def: copying the upload is blocking I/O)."""
    upload: Path | None = None
    try:
        with jobs.job_files(settings.job_root):
            if file is not None and (file.filename or file.size):
                settings.job_root.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(dir=settings.job_root, prefix=".upload-", delete=False) as handle:
                    upload = Path(handle.name)
                    shutil.copyfileobj(file.file, handle)
            job_id = jobs.start_training_job(
                settings=settings,
                upload=upload,
                k=k,
                features=features,
                seed=seed,
                activate=activate,
                key=key,
                request_id=getattr(request.state, "request_id", None),
            )
    finally:
        if upload is not None:
            upload.unlink(missing_ok=True)
    response.headers["Location"] = f"/api/v1/jobs/{job_id}"
    return {"job_id": job_id}


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
    return jobs.JobStore(settings.job_root).status(job_id)
