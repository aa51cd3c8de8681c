"""Monitoring: drift over time windows, the stored drift checks, and volumes, rates and drift over time."""

from typing import Annotated, Any, Literal

from annotated_types import Ge, Le
from fastapi import APIRouter, Query, Request

from app.controllers.deps import SegmenterDep, SessionDep, segmentation_of
from app.core.errors import InvalidRequest
from app.models.segmentations.spec import DEFAULT_NAME, NAME_PATTERN
from app.schemas.common import DIGITS_ONLY, error_responses
from app.schemas.monitoring import DriftHistory, DriftResponse, IsoDateTime, PredictionVolume, TimeSeries
from app.services.monitoring import reads as monitoring
from app.services.monitoring.drift import MAX_WINDOW

router = APIRouter(prefix="/monitoring", tags=["monitoring"])


@router.get(
    "/drift",
    response_model=DriftResponse,
    summary="Drift of logged predictions",
    description="Compares the served model version's logged predictions (another version's are left out) with its "
    "training data: per feature PSI, KS and Wasserstein/std; the segment mix (PSI and chi-squared); atypical and "
    "out-of-range rates. Each check and the top-level `status` is `stable`, `watch` or `drift`, or `insufficient "
    "data` for a small window.\n\nThe window is a span of time, `since` to `until` (ISO 8601; default: the last 24 "
    "hours), in which each customer id counts once (its latest prediction): the verdict does not depend on the order "
    "of a file's rows, nor on scoring it again. `window=N` asks instead for the last N rows as logged (within `since` "
    "and `until` when given). A since after until is a 422 (equal ones, an empty window). A window over "
    "80% of which is one request (a file or a batch) carries a warning: the verdict describes that file.",
    responses=error_responses(422, 503),
)
def drift(
    request: Request,
    model: SegmenterDep,
    session: SessionDep,
    window: Annotated[
        int | None,
        Ge(1),
        Le(MAX_WINDOW),
        DIGITS_ONLY,
        Query(description="The last N predictions as logged, instead of a time window."),
    ] = None,
    since: Annotated[IsoDateTime | None, Query(description="Start of the time window (default: 24 hours ago).")] = None,
    until: Annotated[IsoDateTime | None, Query(description="End of the time window (default: now).")] = None,
) -> dict[str, Any]:
    """Drift checks of a time window (default: the last 24 hours), or of the last `window` logged predictions."""
    return monitoring.drift(
        session, model, window=window, since=since, until=until, segmentation=segmentation_of(request)
    )


@router.get(
    "/drift/history",
    response_model=DriftHistory,
    summary="Drift checks over time",
    description="The evaluations the background drift evaluator stored (every DRIFT_EVALUATION_SECONDS, of the last "
    "24 hours each), from `since` (default: seven days ago) to `until` (default: now), oldest first: each check's "
    "status and main measure; a since after until is a 422. Alerts and charts read these rather than computing "
    "their own.",
    responses=error_responses(422, 503),
)
def drift_history(
    request: Request,
    session: SessionDep,
    since: Annotated[IsoDateTime | None, Query(description="Start of the range, ISO 8601.")] = None,
    until: Annotated[IsoDateTime | None, Query(description="End of the range, ISO 8601.")] = None,
) -> dict[str, Any]:
    """Stored drift evaluations of the segmentation over time."""
    return monitoring.drift_history(session, segmentation=segmentation_of(request), since=since, until=until)


@router.get(
    "/predictions",
    response_model=PredictionVolume,
    summary="Prediction volume per segment",
    description="The served model version's logged predictions per segment (another version's segment ids name "
    "other segments), per hour for spans up to two days and per day beyond, from `since` (ISO 8601; default: seven "
    "days before `until`; a time without a zone is UTC; a since alone after now gives an empty range ending now) to "
    "`until` (default: now); a since after until is a 422. At most 400 buckets are returned: an older `since` is "
    "moved forward.",
    responses=error_responses(422, 503),
)
def predictions(
    request: Request,
    model: SegmenterDep,
    session: SessionDep,
    since: Annotated[IsoDateTime | None, Query(description="Start of the range, ISO 8601.")] = None,
    until: Annotated[IsoDateTime | None, Query(description="End of the range, ISO 8601.")] = None,
) -> dict[str, Any]:
    """Recent volume per segment over time."""
    return monitoring.prediction_volume(session, model, since=since, until=until, segmentation=segmentation_of(request))


@router.get(
    "/timeseries",
    response_model=TimeSeries,
    summary="Segment mix, volumes, rates and drift over time",
    description="Per `bucket` (hour, day or week, from Monday, UTC) from `since` (default: 48 hours, 30 days or 12 "
    "weeks back) to `until` (default: now): the served version's logged predictions, its customers (each id once "
    "per bucket, its latest prediction), their segment mix, atypical and out-of-range rates, and the last drift "
    "evaluation the background evaluator stored in the bucket. At most 400 buckets: an older `since` is moved "
    "forward; a since after until is a 422. `segmentation` names another segmentation than the path's (the "
    "top-level route serves `default`).",
    responses=error_responses(404, 422, 503),
)
def timeseries(
    request: Request,
    session: SessionDep,
    bucket: Annotated[Literal["hour", "day", "week"], Query(description="The size of each point.")] = "day",
    since: Annotated[IsoDateTime | None, Query(description="Start of the range, ISO 8601.")] = None,
    until: Annotated[IsoDateTime | None, Query(description="End of the range, ISO 8601.")] = None,
    # Named apart from the path's {segmentation}, which the per-segmentation mount also has.
    chosen: Annotated[
        str | None,
        Query(
            alias="segmentation", pattern=NAME_PATTERN.pattern, description="The segmentation (default: the path's)."
        ),
    ] = None,
) -> dict[str, Any]:
    """The dashboard's series over time."""
    path = request.path_params.get("segmentation")
    if chosen is not None and path is not None and chosen != path:
        raise InvalidRequest(f"segmentation={chosen} contradicts the path's segmentation {path}")
    name = chosen or segmentation_of(request)
    segmentations = request.app.state.segmentations
    if name != DEFAULT_NAME:
        segmentations.require(name)  # 404 for an unknown one
    model = segmentations.registry(name).get()
    return monitoring.timeseries(session, model, segmentation=name, bucket=bucket, since=since, until=until)
