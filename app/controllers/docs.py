"""Swagger UI and ReDoc served from locally installed assets, so the docs work offline."""

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from app.utils.static import CachedStaticFiles

DOCS_ASSETS_URL = "/static-docs"
DOCS_ASSETS = CachedStaticFiles(directory=Path(fastapi_offline.__file__).parent / "static")

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Interactive API docs (Swagger UI)."""
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - API docs",
        swagger_js_url=f"{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_ASSETS_URL}/favicon.png",
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """Reference API docs (ReDoc), without web fonts."""
    return get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - API reference",
        redoc_js_url=f"{DOCS_ASSETS_URL}/redoc.standalone.js",
        redoc_favicon_url=f"{DOCS_ASSETS_URL}/favicon.png",
        with_google_fonts=False,
    )
