"""Server-rendered pages: thin routes that ask the page service for a context and render a template."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.controllers.deps import RegistryDep, SegmenterDep
from app.core.templating import templates
from app.services import pages

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


@router.get("/models", response_class=HTMLResponse)
def models(
    request: Request,
    registry: RegistryDep,
    compare: Annotated[str | None, Query(max_length=64)] = None,
    with_version: Annotated[str | None, Query(alias="with", max_length=64)] = None,
) -> HTMLResponse:
    """Model versions: metrics, the active badge, a comparison heatmap, training and activation."""
    context = pages.models_page(registry, compare=compare or None, with_version=with_version or None)
    return templates.TemplateResponse(request, "models.html", context)
