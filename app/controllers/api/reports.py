"""Segment reports of model versions, as HTML or PDF: /models/{version}/report, at the top level and under each
segmentation's prefix (app/controllers/api/__init__.py mounts this router both ways)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from app.controllers.api.versions import VersionPath
from app.controllers.deps import RegistryDep, segmentation_of
from app.schemas.common import error_responses
from app.services.reports.version import version_report
from app.utils.downloads import content_disposition
from app.web.reports import FORMATS, RenderedReport, pick_format, render_report

router = APIRouter(prefix="/models", tags=["reports"])

FormatQuery = Annotated[
    Literal["html", "pdf"] | None,
    Query(description="`html` or `pdf`; without it, the Accept header chooses (HTML unless it prefers PDF)."),
]
PaperQuery = Annotated[Literal["a4", "letter"], Query(description="The PDF's paper size.")]
DownloadQuery = Annotated[bool, Query(description="Send it as an attachment to save.")]
# A report's 200 is a document, HTML or PDF, never JSON.
DOCUMENT = {200: {"content": {FORMATS["html"].split(";")[0]: {}, FORMATS["pdf"]: {}}, "description": "The report."}}


def report_response(rendered: RenderedReport, *, download: bool) -> Response:
    """A rendered report as a response: inline for reading, or as an attachment with `download`."""
    headers = {
        "Content-Disposition": content_disposition(rendered.filename, inline=not download),
        "Vary": "Accept",
    }
    if rendered.csp:
        headers["Content-Security-Policy"] = rendered.csp
    return Response(rendered.body, media_type=rendered.media_type, headers=headers)


@router.get(
    "/{version}/report",
    summary="Segment report of a version",
    description="Summary, segment sizes, a profile per segment (every feature, age, gender and other recorded "
    "columns) with charts, descriptions and strategies (edited ones when present), rules and feature importance when "
    "the version has them, the migration against the previous version, and the drift status of its recent "
    "predictions. HTML (one self-contained file) or PDF (A4 or Letter), by `format` or the Accept header. "
    "`active` names the served version.",
    response_class=Response,
    responses={**DOCUMENT, **error_responses(404, 422, 503)},
)
async def model_report(
    request: Request,
    version: VersionPath,
    registry: RegistryDep,
    format: FormatQuery = None,
    paper: PaperQuery = "a4",
    download: DownloadQuery = False,
) -> Response:
    """The report of one version, drawn in a worker thread (charts and layout take a second, never the event loop)."""
    chosen = pick_format(format, request.headers.get("accept"))
    sessions = getattr(request.app.state, "db_sessions", None)
    segmentation = segmentation_of(request)

    def build() -> RenderedReport:
        report = version_report(registry=registry, version=version, segmentation=segmentation, sessions=sessions)
        return render_report(report, format=chosen, paper=paper)

    return report_response(await run_in_threadpool(build), download=download)
