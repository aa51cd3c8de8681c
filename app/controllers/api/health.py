"""Service readiness, kept at /api/v1/health for compatibility."""

import time

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app import __version__
from app.controllers.deps import RegistryDep
from app.schemas.health import HealthResponse
from app.services.health import health_report

router = APIRouter(prefix="/health", tags=["service"])


@router.head("", include_in_schema=False)
@router.get(
    "",
    response_model=HealthResponse,
    summary="Readiness",
    description="200 with status ok when a model is loaded; 503 with status unavailable and the reason when not.",
    responses={503: {"model": HealthResponse, "description": "No usable model is loaded; `reason` says why."}},
)
async def health(registry: RegistryDep) -> JSONResponse:
    """Whether the service can serve predictions."""
    report = health_report(registry, app_version=__version__, now=time.monotonic())
    return JSONResponse(report, status_code=200 if registry.ready else 503)
