"""The versioned JSON API, /api/v1: one router per resource, joined here."""

from fastapi import APIRouter

from app.controllers.api import health, jobs, model_info, monitoring, predictions, scoring, segments, versions
from app.core.config import Settings


def build_api_router(settings: Settings) -> APIRouter:
    """Every /api/v1 route; file uploads get their own body limits, the rest the JSON limit of the include."""
    api = APIRouter(prefix="/api/v1")
    api.include_router(predictions.router)
    # /predict/csv takes whole customer files (MAX_UPLOAD_BYTES), so it is joined with its own limit.
    api.include_router(scoring.router, max_body_size=settings.max_upload_bytes)
    api.include_router(segments.router)
    api.include_router(model_info.router)
    api.include_router(versions.build_router(upload_limit=settings.train_max_upload_bytes))
    api.include_router(jobs.router)
    api.include_router(health.router)
    api.include_router(monitoring.router)
    return api
