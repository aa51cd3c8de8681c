"""Dependencies that hand routes the model registry, the model to use and validated request bodies."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from app.core.config import SettingsDep
from app.core.errors import InvalidRequest
from app.models.model import SegmentationModel
from app.models.registry import ModelRegistry
from app.schemas.prediction import BatchIn
from app.services.prediction_log import PredictionLogWriter


async def get_registry(request: Request) -> ModelRegistry:
    """The registry the lifespan opened (async: attribute access needs no thread)."""
    return request.app.state.registry


RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]


async def get_segmenter(request: Request) -> SegmentationModel:
    """The active model, or a 503 ModelNotReady with the reason."""
    # Reads the registry itself rather than through get_registry: each dependency level costs
    # measurable time on the hot predict path.
    return request.app.state.registry.get()


SegmenterDep = Annotated[SegmentationModel, Depends(get_segmenter)]


async def get_requested_model(
    request: Request,
    model_version: Annotated[
        str | None, Query(max_length=64, description="Score with this model version instead of the active one.")
    ] = None,
) -> SegmentationModel:
    """The active model, or the version the request names (404 when unknown)."""
    return request.app.state.registry.get(model_version)


RequestedModelDep = Annotated[SegmentationModel, Depends(get_requested_model)]


async def valid_batch(batch: BatchIn, settings: SettingsDep) -> BatchIn:
    """The batch body, refused with 422 when it has more customers than the configured limit."""
    if len(batch.customers) > settings.max_batch_size:
        raise InvalidRequest(
            f"too many customers: at most {settings.max_batch_size} per request, got {len(batch.customers)}; "
            "split the batch"
        )
    return batch


BatchDep = Annotated[BatchIn, Depends(valid_batch)]


@dataclass(frozen=True, slots=True)
class PredictionLogTarget:
    """Where a route's predictions are logged: the app's writer (None when logging is off) and the request id."""

    writer: PredictionLogWriter | None
    request_id: str | None


async def get_prediction_log(request: Request) -> PredictionLogTarget:
    """The prediction log writer the lifespan started, with this request's id."""
    return PredictionLogTarget(
        getattr(request.app.state, "prediction_log", None), getattr(request.state, "request_id", None)
    )


PredictionLogDep = Annotated[PredictionLogTarget, Depends(get_prediction_log)]


def get_session(request: Request) -> Iterator[Session]:
    """A database session for one request, closed after it."""
    with request.app.state.db_sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
