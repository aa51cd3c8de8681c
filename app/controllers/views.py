"""Server-rendered pages: thin routes that ask the page service for a context and render a template."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.controllers.deps import RegistryDep, SegmenterDep, SessionDep
from app.core.templating import templates
from app.services import monitoring, pages
from app.services.drift import DEFAULT_WINDOW, MAX_WINDOW

router = APIRouter(include_in_schema=False)


@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
def home(
    request: Request,
    registry: RegistryDep,
    annual_income: Annotated[str | None, Query(max_length=50)] = None,
    spending_score: Annotated[str | None, Query(max_length=50)] = None,
) -> HTMLResponse:
    """The slider page; with query values (the no-JavaScript form) it renders their segment server-side."""
    context = pages.home_page(registry, {"annual_income": annual_income, "spending_score": spending_score})
    status = 200 if registry.ready else 503
    if context["errors"]:
        status = 422
    return templates.TemplateResponse(request, "index.html", context, status_code=status)


@router.get("/about", response_class=HTMLResponse)
def about(request: Request, model: SegmenterDep) -> HTMLResponse:
    """The model card."""
    base_url = str(request.base_url).rstrip("/")
    return templates.TemplateResponse(request, "about.html", pages.about_page(model, base_url=base_url))


@router.get("/monitoring", response_class=HTMLResponse)
def monitoring_dashboard(
    request: Request,
    model: SegmenterDep,
    session: SessionDep,
    window: Annotated[int, Query(ge=1, le=MAX_WINDOW)] = DEFAULT_WINDOW,
) -> HTMLResponse:
    """Drift of recent predictions against the training data, with volume, histograms and segment mix."""
    report = monitoring.drift(session, model, window=window)
    volume = monitoring.prediction_volume(session, model)
    return templates.TemplateResponse(request, "monitoring.html", pages.monitoring_page(model, report, volume))
