"""Service health: liveness, readiness and the /api/v1/health report."""

from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import example_config
from app.schemas.prediction import PREDICTION_EXAMPLE

_VERSION = PREDICTION_EXAMPLE["model_version"]


class HealthResponse(BaseModel):
    """Whether the service can answer predictions."""

    model_config = example_config(
        {
            "status": "ok",
            "model_loaded": True,
            "model_version": _VERSION,
            "uptime_seconds": 12.5,
            "app_version": "1.0.0",
            "reason": None,
        }
    )

    status: Literal["ok", "unavailable"] = Field(description="`ok` (200) with a model loaded, else `unavailable` (503)")
    model_loaded: bool = Field(description="Whether a verified model is loaded.")
    model_version: str | None = Field(description="The version served; null when none is loaded.")
    uptime_seconds: float = Field(description="Seconds since this worker started.")
    app_version: str = Field(description="The service's own version.")
    reason: str | None = Field(None, description="Why the service is unavailable, when it is.")
    auto_trained: bool | None = Field(
        None, description="True when the active model was trained automatically on the bundled synthetic data."
    )
    artifacts_signed: bool | None = Field(None, description="Whether the active model's artifacts are signed.")
    degraded: str | None = Field(
        None,
        description="Set while the last verified model is served because the ACTIVE pointer names a version that "
        "cannot be loaded: what is wrong.",
    )


class LivenessResponse(BaseModel):
    """The process is up."""

    status: Literal["alive"] = Field(description="Always `alive`: the process answers.")


class ReadinessDetails(BaseModel):
    """What a ready service would have operators know."""

    degraded: str = Field(
        description="Why the last verified model is served rather than the version the ACTIVE pointer names."
    )


class ReadinessResponse(BaseModel):
    """Whether a verified model is loaded, so traffic can be sent."""

    model_config = example_config({"status": "ready", "model_version": _VERSION, "reason": None})

    status: Literal["ready", "not_ready"] = Field(description="`ready` (200) or `not_ready` (503).")
    model_version: str | None = Field(description="The version served (also while draining); null when none is.")
    reason: str | None = Field(
        description="Why it is not ready: no or a damaged model, or `draining` after SIGTERM; null when ready."
    )
    details: ReadinessDetails | None = Field(
        None, description="Present while the service is ready but degraded: `degraded` says why."
    )
