"""Champion and challenger: set, show, stop and promote a segmentation's challenger, and its report."""

from typing import Annotated, Any

from annotated_types import Ge, Le
from fastapi import APIRouter, Query, Request

from app.controllers.admin_route import AdminKeyFirstRoute
from app.controllers.audit import audit
from app.controllers.deps import AdminKeyDep, SegmentationQuery, SessionDep, reason_query
from app.models.segmentations.spec import DEFAULT_NAME
from app.models.versions.registry import ModelRegistry
from app.schemas.challenger import CHALLENGER_EXAMPLES, ChallengerIn, ChallengerReport, ChallengerState
from app.schemas.common import DIGITS_ONLY, error_responses
from app.services.challenger import control
from app.services.challenger import report as reports

router = APIRouter(prefix="/challenger", tags=["challenger"], route_class=AdminKeyFirstRoute)


ReasonQuery = reason_query("challenger")


def _registry(request: Request, segmentation: str) -> ModelRegistry:
    """The segmentation's registry (404 for an unknown segmentation)."""
    if segmentation == DEFAULT_NAME:
        return request.app.state.registry
    segmentations = request.app.state.segmentations
    segmentations.require(segmentation)
    return segmentations.registry(segmentation)


@router.get(
    "",
    response_model=ChallengerState,
    summary="The challenger",
    description="The segmentation's champion, its challenger (null when none runs) and the last changes.",
    responses=error_responses(404, 422),
)
def show(request: Request, segmentation: SegmentationQuery = DEFAULT_NAME) -> dict[str, Any]:
    """The segmentation's challenger (null when none runs), its champion, and the challenger history."""
    return control.show(registry=_registry(request, segmentation), segmentation=segmentation)


@router.put(
    "",
    response_model=ChallengerState,
    summary="Set a challenger",
    description="`split` sends a stable `share` of customers (by a hash of `customer_id`; requests without one go to "
    "the champion) to the challenger; `shadow` has both score every request while the champion answers. Every "
    "answer says its `arm` and `model_version`. Refused: the champion itself (409), an unknown version (404), a "
    "share outside (0, 1) (422).",
    responses=error_responses(400, 401, 403, 404, 409, 415, 422, 429, 503),
    openapi_extra={"requestBody": {"content": {"application/json": {"examples": CHALLENGER_EXAMPLES}}}},
)
def put(
    body: ChallengerIn, request: Request, key: AdminKeyDep, segmentation: SegmentationQuery = DEFAULT_NAME
) -> dict[str, Any]:
    """Set (or replace) the challenger."""
    state = control.set_challenger(
        registry=_registry(request, segmentation),
        segmentation=segmentation,
        version=body.version,
        mode=body.mode,
        share=getattr(body, "share", None),
        key=key,
    )
    detail = {"version": body.version, "mode": body.mode, "share": getattr(body, "share", None)}
    audit(request, who=key, action="challenger.set", target=segmentation, detail=detail)
    return state


@router.delete(
    "",
    response_model=ChallengerState,
    summary="Stop the challenger",
    description="The champion answers every request again; recorded in the challenger history.",
    responses=error_responses(401, 403, 404, 409, 422, 429),
)
def delete(
    request: Request,
    key: AdminKeyDep,
    session: SessionDep,
    segmentation: SegmentationQuery = DEFAULT_NAME,
    reason: ReasonQuery = "",
) -> dict:
    """Stop the challenger: the champion answers every request again."""
    state = control.stop(
        registry=_registry(request, segmentation), segmentation=segmentation, reason=reason, key=key, session=session
    )
    audit(request, who=key, action="challenger.stop", target=segmentation, detail={"reason": reason})
    return state


@router.post(
    "/promote",
    response_model=ChallengerState,
    summary="Promote the challenger",
    description="Activates the challenger (recorded in the version history) and clears it.",
    responses=error_responses(401, 403, 404, 409, 422, 429),
)
def promote(
    request: Request,
    key: AdminKeyDep,
    session: SessionDep,
    segmentation: SegmentationQuery = DEFAULT_NAME,
    reason: ReasonQuery = "",
) -> dict:
    """Make the challenger the champion."""
    state = control.promote(
        registry=_registry(request, segmentation), segmentation=segmentation, reason=reason, key=key, session=session
    )
    audit(request, who=key, action="challenger.promote", target=segmentation, detail={"reason": reason})
    return state


@router.get(
    "/report",
    response_model=ChallengerReport,
    summary="How the challenger agrees with the champion",
    description="Over the last `window` requests both versions scored (shadow mode): the migration matrix between the "
    "versions with segment names, agreement per champion segment, Cohen's kappa and the adjusted Rand index; and "
    "requests and first assignments per arm.",
    responses=error_responses(404, 409, 422, 503),
)
def report(
    request: Request,
    session: SessionDep,
    segmentation: SegmentationQuery = DEFAULT_NAME,
    window: Annotated[
        int, Ge(1), Le(reports.MAX_WINDOW), DIGITS_ONLY, Query(description="How many recent shadow pairs.")
    ] = reports.DEFAULT_WINDOW,
) -> dict[str, Any]:
    """The challenger report."""
    return reports.report(
        session=session, registry=_registry(request, segmentation), segmentation=segmentation, window=window
    )
