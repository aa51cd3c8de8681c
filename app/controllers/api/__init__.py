"""The versioned JSON API, /api/v1: one router per resource, joined here."""

from fastapi import APIRouter, Depends

from app.controllers.api import (
    audit,
    auth,
    challenger,
    counterfactuals,
    experiments,
    health,
    jobs,
    model_info,
    monitoring,
    outcomes,
    predictions,
    proposals,
    reports,
    runs,
    scoring,
    segment_edits,
    segmentations,
    segments,
    users,
    versions,
    webhooks,
)
from app.controllers.deps import ReadersOnly, valid_segmentation
from app.core.config import Settings
from app.schemas.common import error_responses

# Where a segmentation's routes live: the same routers as the top level, found by the path's segmentation.
SEGMENTATION_PREFIX = "/segmentations/{segmentation}"


API_PREFIX = "/api/v1"


def predict_routers() -> list[APIRouter]:
    """The JSON predict routers (the hot path), which the app joins under API_PREFIX before every other route.

    Joined to the app itself, first: FastAPI walks an included router's whole tree of routers on every match, so
    inside the full /api/v1 router finding the predict route took ~30 µs a request (two matches of ~16 µs).
    """
    return [predictions.router, segmentations.predictions]


def build_api_router(settings: Settings) -> APIRouter:
    """Every other /api/v1 route; file uploads get their own body limits, the rest the JSON limit of the include."""
    api = APIRouter(prefix=API_PREFIX)
    # Reads need a viewer once PUBLIC_READS is off; predictions and scoring check it in PredictRateLimit. A key or
    # token sent is checked whatever PUBLIC_READS says: 401 or 403 when it fails, 429 past the failed allowance.
    credential_errors = error_responses(401, 403, 429)
    readers = {"dependencies": [ReadersOnly], "responses": credential_errors}
    api.include_router(counterfactuals.router)
    # /predict/csv takes whole customer files (MAX_UPLOAD_BYTES), so it is joined with its own limit.
    api.include_router(scoring.router, max_body_size=settings.max_upload_bytes)
    api.include_router(segments.router, **readers)
    api.include_router(segment_edits.router, **readers)
    api.include_router(model_info.router, **readers)
    api.include_router(versions.build_router(upload_limit=settings.train_max_upload_bytes), **readers)
    api.include_router(reports.router, **readers)
    api.include_router(jobs.router, **readers)
    api.include_router(health.router)
    api.include_router(monitoring.build_router(by_path=False), **readers)
    api.include_router(runs.router, **readers)
    api.include_router(challenger.router, **readers)
    # Outcomes check their own writers (an outcome key, an analyst or an admin) before the body is read.
    api.include_router(outcomes.router)
    api.include_router(experiments.router, **readers)
    api.include_router(proposals.router, **readers)
    api.include_router(segmentations.router, **readers)
    api.include_router(segmentations.profiles, max_body_size=settings.max_upload_bytes, **readers)
    api.include_router(auth.router)
    api.include_router(users.router)
    api.include_router(webhooks.router)
    api.include_router(audit.router)
    by_segmentation = {
        "prefix": SEGMENTATION_PREFIX,
        "dependencies": [ReadersOnly, Depends(valid_segmentation)],
        # An unknown segmentation is a 404, a name that cannot be one a 422.
        "responses": {**credential_errors, **error_responses(404, 422)},
    }
    api.include_router(scoring.router, max_body_size=settings.max_upload_bytes, **by_segmentation)
    api.include_router(segments.router, **by_segmentation)
    api.include_router(segment_edits.router, **by_segmentation)
    api.include_router(model_info.router, **by_segmentation)
    api.include_router(versions.build_router(upload_limit=settings.train_max_upload_bytes), **by_segmentation)
    api.include_router(reports.router, **by_segmentation)
    api.include_router(jobs.router, **by_segmentation)
    api.include_router(monitoring.build_router(by_path=True), **by_segmentation)
    return api
