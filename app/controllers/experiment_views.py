"""The /experiments page: each campaign's A/B report, for anyone who may read."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from app.controllers.deps import SessionDep, answer_in_html, segmentation_of
from app.controllers.page_auth import page_reader
from app.controllers.views import render
from app.web.pages.experiments import experiments_page

router = APIRouter(include_in_schema=False, dependencies=[Depends(answer_in_html), Depends(page_reader)])


@router.get("/experiments", response_class=HTMLResponse)
def experiments(
    request: Request,
    session: SessionDep,
    campaign: Annotated[str | None, Query(max_length=128)] = None,
    event: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    """A campaign's conversion and value per segment and arm, with the tests between the arms."""
    segmentation = segmentation_of(request)
    if segmentation != "default":
        request.app.state.segmentations.require(segmentation)
    context = experiments_page(
        session=session, segmentation=segmentation, campaign=campaign or None, event=event or None
    )
    return render(request, "experiments.html", context)
