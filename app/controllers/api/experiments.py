"""Experiments: the A/B report of each campaign's outcomes, per segment and challenger arm."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from app.controllers.deps import SegmentationQuery, SessionDep
from app.models.segmentations.spec import DEFAULT_NAME
from app.schemas.common import NO_NUL, error_responses
from app.schemas.outcomes import CampaignList, ExperimentReport
from app.services.experiments import report as reports

router = APIRouter(prefix="/experiments", tags=["experiments"])


def _known(request: Request, segmentation: str) -> str:
    if segmentation != DEFAULT_NAME:
        request.app.state.segmentations.require(segmentation)
    return segmentation


@router.get(
    "",
    response_model=CampaignList,
    summary="Campaigns with outcomes",
    description="Every campaign of the segmentation's outcome events, most recent first: events, customers, the "
    "event names (candidates for `?event=` in the report) and the first and last dates.",
    responses=error_responses(404, 422, 503),
)
def list_campaigns(request: Request, session: SessionDep, segmentation: SegmentationQuery = DEFAULT_NAME) -> dict:
    """The campaigns."""
    return reports.campaigns(session=session, segmentation=_known(request, segmentation))


@router.get(
    "/{campaign}",
    response_model=ExperimentReport,
    summary="A campaign's A/B report",
    description="Per segment × arm: customers, conversions (customers with at least one `event`; any event when "
    "absent), the conversion rate with a 95% Wilson interval and the mean value per customer with a 95% t "
    "interval. Per segment: a two-proportion z-test (equal to a chi-squared test without correction) between the "
    "challenger and champion arms, Welch's t-test on values, each flagged at p < 0.05, and a warning when an arm has "
    "fewer than 30 customers. Tests are per segment and not corrected for multiple comparisons.",
    responses=error_responses(404, 422, 503),
)
def show(
    request: Request,
    session: SessionDep,
    campaign: Annotated[
        str, Path(min_length=1, max_length=128, description="The campaign, as the events name it."), NO_NUL
    ],
    segmentation: SegmentationQuery = DEFAULT_NAME,
    event: Annotated[
        str | None,
        Query(min_length=1, max_length=64, description="The conversion event; any event when absent."),
        NO_NUL,
    ] = None,
) -> dict[str, Any]:
    """The campaign's A/B report."""
    return reports.experiment_report(
        session=session, segmentation=_known(request, segmentation), campaign=campaign, event=event
    )
