"""Retraining proposals: propose a candidate on demand, list and read them, accept or dismiss one."""

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam

from app.controllers.admin_route import AdminKeyFirstRoute
from app.controllers.audit import audit
from app.controllers.deps import AdminKeyDep, SegmentationQuery, SessionDep, SettingsDep
from app.models.segmentations.spec import DEFAULT_NAME
from app.models.versions.registry import ModelRegistry
from app.schemas.common import NO_NUL, error_responses
from app.schemas.proposals import ProposalDetail, ProposalIn, ProposalList
from app.services.proposals import control

router = APIRouter(prefix="/proposals", tags=["proposals"], route_class=AdminKeyFirstRoute)

ProposalId = Annotated[str, PathParam(max_length=64, description="The proposal's id."), NO_NUL]


def _registry_of(request: Request):
    """A function giving a segmentation's registry (404 for an unknown segmentation)."""

    def registry(segmentation: str) -> ModelRegistry:
        if segmentation == DEFAULT_NAME:
            return request.app.state.registry
        segmentations = request.app.state.segmentations
        segmentations.require(segmentation)
        return segmentations.registry(segmentation)

    return registry


@router.post(
    "",
    response_model=ProposalDetail,
    status_code=201,
    summary="Propose a retrained candidate",
    description="Stores a proposal against the active version and starts a training job for its candidate: KMeans on "
    "the segmentation's customers logged in the last 24 hours (each once; with `mix_training`, also the active "
    "version's stored training sample), warm-started from the active centroids with the same k, so unchanged "
    "segments keep their names. The job compares it with the active version; an admin accepts or dismisses it. "
    "Send `{}` for the defaults. Nothing is stored, with a 422, when fewer than 50 customers were logged in the "
    "last 24 hours (the job checks again on what it reads), and with a 409, as POST /api/v1/models answers, while "
    "TRAIN_MAX_CONCURRENT_JOBS training jobs are already running.",
    responses=error_responses(400, 401, 403, 404, 409, 415, 422, 429, 503),
)
def propose(
    request: Request,
    key: AdminKeyDep,
    session: SessionDep,
    settings: SettingsDep,
    body: ProposalIn,
    segmentation: SegmentationQuery = DEFAULT_NAME,
) -> dict[str, Any]:
    """Propose a candidate now (`{}` for the defaults)."""
    state = control.propose(
        settings=settings,
        session=session,
        sessions=request.app.state.db_sessions,
        registry=_registry_of(request)(segmentation),
        segmentation=segmentation,
        reason=body.reason,
        mix_training=body.mix_training,
        key=key,
        request_id=getattr(request.state, "request_id", None),
    )
    audit(request, who=key, action="proposal.create", target=segmentation, detail={"proposal": state["id"]})
    return state


@router.get(
    "",
    response_model=ProposalList,
    summary="Retraining proposals",
    description="The segmentation's proposals, newest first: reason, state, versions and the comparison's summary.",
    responses=error_responses(404, 422, 503),
)
def listing(
    request: Request, session: SessionDep, settings: SettingsDep, segmentation: SegmentationQuery = DEFAULT_NAME
) -> dict:
    """The segmentation's proposals, newest first (404 for an unknown segmentation, as /experiments answers)."""
    if segmentation != DEFAULT_NAME:
        request.app.state.segmentations.require(segmentation)
    return control.listing(settings=settings, session=session, segmentation=segmentation)


@router.get(
    "/{proposal_id}",
    response_model=ProposalDetail,
    summary="A retraining proposal",
    description="One proposal with its whole comparison with the version it was proposed against.",
    responses=error_responses(404, 422, 503),
)
def detail(proposal_id: ProposalId, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """One proposal."""
    return control.detail(settings=settings, session=session, proposal_id=proposal_id)


@router.post(
    "/{proposal_id}/accept",
    response_model=ProposalDetail,
    summary="Accept a proposal",
    description="Activates the candidate (recorded in the version history, as activating a version is). Only a "
    "`ready` proposal can be accepted (409 otherwise).",
    responses=error_responses(401, 403, 404, 409, 422, 429, 503),
)
def accept(proposal_id: ProposalId, request: Request, key: AdminKeyDep, session: SessionDep) -> dict[str, Any]:
    """Activate the proposal's candidate."""
    state = control.accept(session=session, registry_of=_registry_of(request), proposal_id=proposal_id, key=key)
    audit(request, who=key, action="proposal.accept", target=state["segmentation"], detail={"proposal": proposal_id})
    return state


@router.post(
    "/{proposal_id}/dismiss",
    response_model=ProposalDetail,
    summary="Dismiss a proposal",
    description="Leaves the active version as it is; the candidate stays a version. 409 once accepted or dismissed.",
    responses=error_responses(401, 403, 404, 409, 422, 429, 503),
)
def dismiss(proposal_id: ProposalId, request: Request, key: AdminKeyDep, session: SessionDep) -> dict[str, Any]:
    """Dismiss the proposal."""
    state = control.dismiss(session=session, proposal_id=proposal_id, key=key)
    audit(request, who=key, action="proposal.dismiss", target=state["segmentation"], detail={"proposal": proposal_id})
    return state
