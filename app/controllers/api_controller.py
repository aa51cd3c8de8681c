"""The versioned JSON API, /api/v1: thin routes that parse, call a service and return."""

import time
from typing import Annotated

from fastapi import APIRouter, Body, Path
from fastapi.responses import JSONResponse

from app import __version__
from app.controllers.deps import ModelStateDep, RawBodyDep, SegmenterDep, parse_json_body
from app.core.config import SettingsDep
from app.schemas.common import error_responses
from app.schemas.model import (
    ClustersInfoResponse,
    ClustersResponse,
    HealthResponse,
    ModelInfo,
    SegmentDetail,
)
from app.schemas.prediction import BatchIn, BatchPrediction, CustomerIn, Prediction
from app.services import segmentation
from app.utils.responses import FastJSONResponse

router = APIRouter(prefix="/api/v1")


@router.post(
    "/predict",
    response_model=Prediction,
    tags=["predictions"],
    summary="Segment one customer",
    description="Returns the customer's segment with its description and marketing strategy, the distance to every "
    "segment, a confidence from the margin to the runner-up segment, and whether the customer is atypical.",
    responses=error_responses(400, 413, 422, 503),
)
def predict(
    customer: Annotated[
        CustomerIn, Body(openapi_examples={"vip": {"value": {"annual_income": 120, "spending_score": 90}}})
    ],
    model: SegmenterDep,
) -> FastJSONResponse:
    """Segment one customer (plain def: prediction is CPU work and runs in the thread pool)."""
    # The service output is built to match Prediction; returning a response skips re-validating it.
    return FastJSONResponse(
        segmentation.predict_customer(
            model, annual_income=customer["annual_income"], spending_score=customer["spending_score"]
        )
    )


@router.post(
    "/predict/batch",
    response_model=BatchPrediction,
    tags=["predictions"],
    summary="Segment many customers",
    description="Segments up to the configured max batch size (default 10,000) customers in one call. Predictions "
    "come back in input order, with the number of customers in each segment.",
    responses=error_responses(400, 413, 422, 503),
    # The body is parsed by the route (one pydantic pass over the raw bytes), so its schema is declared here.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchIn"}}},
        }
    },
)
def predict_batch(body: RawBodyDep, model: SegmenterDep, settings: SettingsDep) -> FastJSONResponse:
    """Segment a batch of customers in input order."""
    batch = parse_json_body(BatchIn, body)
    return FastJSONResponse(
        segmentation.predict_customers(model, customers=batch.customers, max_batch_size=settings.max_batch_size)
    )


@router.get(
    "/clusters",
    response_model=ClustersResponse,
    tags=["segments"],
    summary="Segment statistics",
    description="For every segment: size and share of the training customers, centroid in original units, and the "
    "mean, standard deviation, minimum and maximum of each feature.",
    responses=error_responses(503),
)
async def clusters(model: SegmenterDep) -> dict:
    """Statistics of every segment."""
    return segmentation.cluster_statistics(model)


@router.get(
    "/clusters/info",
    response_model=ClustersInfoResponse,
    tags=["segments"],
    summary="Segment descriptions and strategies",
    description="For every segment: name, description, marketing strategy and characteristics.",
    responses=error_responses(503),
)
async def clusters_info(model: SegmenterDep) -> dict:
    """Meaning and advice for every segment."""
    return segmentation.cluster_descriptions(model)


@router.get(
    "/clusters/{segment_id}",
    response_model=SegmentDetail,
    tags=["segments"],
    summary="One segment",
    description="Statistics and meaning of one segment, by its stable segment_id (0-4 for the five named segments).",
    responses=error_responses(404, 422, 503),
)
async def cluster(
    segment_id: Annotated[int, Path(description="Stable segment id.", examples=[1])], model: SegmenterDep
) -> dict:
    """One segment by stable id."""
    return segmentation.cluster_detail(model, segment_id=segment_id)


@router.get(
    "/model/info",
    response_model=ModelInfo,
    tags=["model"],
    summary="Model metadata",
    description="Algorithm, k, features, version, training time, number of customers, quality metrics, the k "
    "selection evidence (inertia and silhouette for k = 2..10) and the scikit-learn version.",
    responses=error_responses(503),
)
async def model_info(model: SegmenterDep) -> dict:
    """Metadata of the loaded model."""
    return segmentation.model_facts(model)


@router.get(
    "/health",
    response_model=HealthResponse,
    tags=["service"],
    summary="Readiness",
    description="200 with status ok when a model is loaded; 503 with status unavailable and the reason when not.",
    responses={503: {"model": HealthResponse, "description": "No usable model is loaded; `reason` says why."}},
)
async def health(state: ModelStateDep) -> JSONResponse:
    """Whether the service can serve predictions."""
    report = segmentation.health_report(state, app_version=__version__, now=time.monotonic())
    return JSONResponse(report, status_code=200 if state.ready else 503)
