"""The versioned JSON API, /api/v1: one router per resource, joined here."""

from fastapi import APIRouter

from app.controllers.api import health, jobs, model, models, monitoring, predictions, scoring, segments

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(predictions.router)
api_router.include_router(segments.router)
api_router.include_router(model.router)
api_router.include_router(models.router)
api_router.include_router(jobs.router)
api_router.include_router(health.router)
api_router.include_router(monitoring.router)

# File uploads have their own, larger body limit (MAX_UPLOAD_BYTES), so they are joined on a router of their own.
upload_router = APIRouter(prefix="/api/v1")
upload_router.include_router(scoring.router)
