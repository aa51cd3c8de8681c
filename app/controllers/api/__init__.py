"""The versioned JSON API, /api/v1: one router per resource, joined here."""

from fastapi import APIRouter

from app.controllers.api import health, model, monitoring, predictions, segments

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(predictions.router)
api_router.include_router(segments.router)
api_router.include_router(model.router)
api_router.include_router(health.router)
api_router.include_router(monitoring.router)
