"""Monitoring: drift of recent predictions, and prediction volume per segment over time."""

from typing import Annotated, Any

from annotated_types import Ge, Le
from fastapi import APIRouter, Query, Request

from app.controllers.deps import SegmenterDep, SessionDep, segmentation_of
from app.schemas.common import DIGITS_ONLY, error_responses
from app.schemas.monitoring import DriftResponse, IsoDateTime, PredictionVolume
from app.services.monitoring import reads as monitoring
from app.services.monitoring.drift import DEFAULT_WINDOW, MAX_WINDOW

router = APIRouter(prefix="/monitoring", tags=["monitoring"])


@router.get(
    "/drift",
    response_model=DriftResponse,
    summary="Drift of recent predictions",
    description="Compares the last `window` predictions the served model version logged (another version's are left "
    "out) with its training data: per feature PSI, KS "
    "and Wasserstein/std; the segment mix (PSI and chi-squared); atypical and out-of-range rates. Each check and the "
    "top-level `status` is `stable`, `watch` or `drift`, or `insufficient data` for a small window.",
    responses=error_responses(422, 503),
)
def drift(
    request: Request,
    model: SegmenterDep,
    session: SessionDep,
    window: Annotated[
        int, Ge(1), Le(MAX_WINDOW), DIGITS_ONLY, Query(description="How many recent predictions.")
    ] = DEFAULT_WINDOW,
) -> dict[str, Any]:
    """Drift checks of the last `window` logged predictions."""
    return monitoring.drift(session, model, window=window, segmentation=segmentation_of(request))


@router.get(
    "/predictions",
    response_model=PredictionVolume,
    summary="Prediction volume per segment",
    description="The served model version's logged predictions per segment (another version's segment ids name "
    "other segments), per hour for spans up to two days and per day beyond, since `since` (ISO 8601; default: seven "
    "days ago; a time without a zone is UTC; a time after now gives an empty range ending now). At most 400 buckets "
    "are returned: an older `since` is moved forward.",
    responses=error_responses(422, 503),
)
def predictions(
    request: Request,
    model: SegmenterDep,
    session: SessionDep,
    since: Annotated[IsoDateTime | None, Query(description="Start of the range, ISO 8601.")] = None,
) -> dict[str, Any]:
    """Recent volume per segment over time."""
    return monitoring.prediction_volume(session, model, since=since, segmentation=segmentation_of(request))
