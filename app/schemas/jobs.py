"""Responses of the training-job API: a job accepted, and where it is."""

from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import example_config


class JobProgress(BaseModel):
    """How far a training job got."""

    stage: str | None = Field(None, description="reading, cleaning, k_sweep, fitting, saving.")
    rows_read: int | None = Field(None, description="Rows of the training file read so far.")
    step: int | None = Field(None, description="k sweep step, 1-based.")
    of: int | None = Field(None, description="k sweep steps in all.")
    k: int | None = Field(None, description="The number of segments being fitted.")
    iteration: int | None = Field(None, description="Lloyd iteration over every row, on the Dask engine.")


# Where a training job computes: `local` reads the file into memory; `dask` trains on a Dask cluster, for files of
# any size (app/services/training/engine.py).
TrainingEngine = Literal["local", "dask"]


class JobStatus(BaseModel):
    """A training job's state."""

    model_config = example_config(
        {
            "job_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            "segmentation": "default",
            "state": "running",
            "created": "2026-11-28T02:01:10.000+00:00",
            "progress": {"stage": "k_sweep", "rows_read": 200, "step": 3, "of": 9, "k": 4},
            "version": None,
            "activated": None,
            "error": None,
            "notes": [],
        }
    )

    job_id: str = Field(description="The job's id: GET /api/v1/jobs/{job_id} follows it.")
    segmentation: str = Field("default", description="The segmentation the job trains a version of.")
    state: Literal["queued", "running", "succeeded", "failed"] = Field(description="Where the job is.")
    created: str = Field(description="When it was queued (UTC, ISO 8601).")
    progress: JobProgress = Field(description="How far it got; empty before it starts.")
    version: str | None = Field(None, description="The new version, on success.")
    activated: bool | None = Field(None, description="On success: whether the new version is now the active one.")
    error: str | None = Field(None, description="On failure: the same one-line reason the CLI gives.")
    notes: list[str] = Field(
        default_factory=list,
        description="On success: warnings about the new version, such as a segment so small that an outlier may "
        "drive it (the version's notes in /model/info say the same).",
    )


class JobList(BaseModel):
    """Recent training jobs, newest first."""

    model_config = example_config({"jobs": [JobStatus.model_config["json_schema_extra"]["examples"][0]]})

    jobs: list[JobStatus] = Field(description="The jobs, newest first.")


class JobAccepted(BaseModel):
    """A training job was queued."""

    job_id: str = Field(description="The job's id: GET /api/v1/jobs/{job_id} (also in `Location`) follows it.")
