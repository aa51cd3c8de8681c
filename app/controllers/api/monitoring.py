"""Monitoring: drift over time windows, the stored drift checks, and volumes, rates and drift over time.

Joined twice (app/controllers/api/__init__.py): at the top level, where `?segmentation=` names the segmentation, and
under /segmentations/{segmentation}, where the path names it and the query is not declared again.
"""

from typing import Annotated, Any, Literal

from annotated_types import Ge, Le
from fastapi import APIRouter, Depends, Query, Request

from app.controllers.deps import SegmentationQuery, SessionDep, registry_of
from app.core.errors import InvalidRequest
from app.models.segmentations.spec import DEFAULT_NAME
from app.schemas.common import DIGITS_ONLY, error_responses
from app.schemas.monitoring import DriftHistory, DriftResponse, IsoDateTime, PredictionVolume, TimeSeries
from app.services.monitoring import reads as monitoring
from app.services.monitoring.drift import MAX_WINDOW

WHICH_SEGMENTATION = (
    "\n\nThe segmentation is the path's, or at /api/v1/monitoring the one `segmentation` names (default: `default`); "
    "an unknown one is a 404."
)


async def queried_segmentation(request: Request, segmentation: SegmentationQuery = DEFAULT_NAME) -> str:
    """The `?segmentation=` of a route joined at the top level, 404 when there is none by that name."""
    if segmentation != DEFAULT_NAME:
        request.app.state.segmentations.require(segmentation)
    return segmentation


async def path_segmentation(request: Request) -> str:
    """The path's segmentation (valid_segmentation has checked it); a `?segmentation=` naming another is a 422."""
    path = request.path_params["segmentation"]
    # Not declared here, yet never ignored: a client asking for two segmentations is told rather than answered one.
    chosen = request.query_params.get("segmentation")
    if chosen is not None and chosen != path:
        raise InvalidRequest(f"segmentation={chosen[:40]} contradicts the path's segmentation {path}")
    return path


def build_router(*, by_path: bool) -> APIRouter:
    """The /monitoring routes, for the segmentation the path names (`by_path`) or the query does."""
    Monitored = Annotated[str, Depends(path_segmentation if by_path else queried_segmentation)]
    router = APIRouter(prefix="/monitoring", tags=["monitoring"])

    @router.get(
        "/drift",
        response_model=DriftResponse,
        summary="Drift of logged predictions",
        description="Compares the served model version's logged predictions (another version's are left out) with its "
        "training data: per feature PSI, KS and Wasserstein/std; the segment mix (PSI and chi-squared); atypical and "
        "out-of-range rates. Each check and the top-level `status` is `stable`, `watch` or `drift`, or `insufficient "
        "data` for a small window.\n\nThe window is a span of time, `since` to `until` (ISO 8601; default: the last 24 "
        "hours), in which each customer id counts once (its latest prediction): the verdict does not depend on the "
        "order of a file's rows, nor on scoring it again. `window=N` asks instead for the last N rows as logged "
        "(within `since` and `until` when given). A since after until is a 422 (equal ones, an empty window). A window "
        "over 80% of which is one request (a file or a batch) carries a warning: the verdict describes that file."
        + WHICH_SEGMENTATION,
        responses=error_responses(404, 422, 503),
    )
    def drift(
        request: Request,
        segmentation: Monitored,
        session: SessionDep,
        window: Annotated[
            int | None,
            Ge(1),
            Le(MAX_WINDOW),
            DIGITS_ONLY,
            Query(description="The last N predictions as logged, instead of a time window."),
        ] = None,
        since: Annotated[
            IsoDateTime | None, Query(description="Start of the time window (default: 24 hours ago).")
        ] = None,
        until: Annotated[IsoDateTime | None, Query(description="End of the time window (default: now).")] = None,
    ) -> dict[str, Any]:
        """Drift checks of a time window (default: the last 24 hours), or of the last `window` logged predictions."""
        model = registry_of(request, segmentation).get()
        return monitoring.drift(session, model, window=window, since=since, until=until, segmentation=segmentation)

    @router.get(
        "/drift/history",
        response_model=DriftHistory,
        summary="Drift checks over time",
        description="The evaluations the background drift evaluator stored (every DRIFT_EVALUATION_SECONDS, of the "
        "last 24 hours each), from `since` (default: seven days ago) to `until` (default: now), oldest first: each "
        "check's status and main measure; a since after until is a 422. Alerts and charts read these rather than "
        "computing their own." + WHICH_SEGMENTATION,
        responses=error_responses(404, 422, 503),
    )
    def drift_history(
        segmentation: Monitored,
        session: SessionDep,
        since: Annotated[IsoDateTime | None, Query(description="Start of the range, ISO 8601.")] = None,
        until: Annotated[IsoDateTime | None, Query(description="End of the range, ISO 8601.")] = None,
    ) -> dict[str, Any]:
        """Stored drift evaluations of the segmentation over time."""
        return monitoring.drift_history(session, segmentation=segmentation, since=since, until=until)

    @router.get(
        "/predictions",
        response_model=PredictionVolume,
        summary="Prediction volume per segment",
        description="The served model version's logged predictions per segment (another version's segment ids name "
        "other segments), per hour for spans up to two days and per day beyond, from `since` (ISO 8601; default: seven "
        "days before `until`; a time without a zone is UTC; a since alone after now gives an empty range ending now) "
        "to `until` (default: now); a since after until is a 422. At most 400 buckets are returned: an older `since` "
        "is moved forward." + WHICH_SEGMENTATION,
        responses=error_responses(404, 422, 503),
    )
    def predictions(
        request: Request,
        segmentation: Monitored,
        session: SessionDep,
        since: Annotated[IsoDateTime | None, Query(description="Start of the range, ISO 8601.")] = None,
        until: Annotated[IsoDateTime | None, Query(description="End of the range, ISO 8601.")] = None,
    ) -> dict[str, Any]:
        """Recent volume per segment over time."""
        model = registry_of(request, segmentation).get()
        return monitoring.prediction_volume(session, model, since=since, until=until, segmentation=segmentation)

    @router.get(
        "/timeseries",
        response_model=TimeSeries,
        summary="Segment mix, volumes, rates and drift over time",
        description="Per `bucket` (hour, day or week, from Monday, UTC) from `since` (default: 48 hours, 30 days or 12 "
        "weeks back) to `until` (default: now): the served version's logged predictions, its customers (each id once "
        "per bucket, its latest prediction), their segment mix, atypical and out-of-range rates, and the last drift "
        "evaluation the background evaluator stored in the bucket. At most 400 buckets: an older `since` is moved "
        "forward; a since after until is a 422." + WHICH_SEGMENTATION,
        responses=error_responses(404, 422, 503),
    )
    def timeseries(
        request: Request,
        segmentation: Monitored,
        session: SessionDep,
        bucket: Annotated[Literal["hour", "day", "week"], Query(description="The size of each point.")] = "day",
        since: Annotated[IsoDateTime | None, Query(description="Start of the range, ISO 8601.")] = None,
        until: Annotated[IsoDateTime | None, Query(description="End of the range, ISO 8601.")] = None,
    ) -> dict[str, Any]:
        """The dashboard's series over time."""
        model = registry_of(request, segmentation).get()
        return monitoring.timeseries(session, model, segmentation=segmentation, bucket=bucket, since=since, until=until)

    return router
