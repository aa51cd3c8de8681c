"""Runs: every scored file kept, listed, downloaded, browsed by customer, compared with another, deleted."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, StreamingResponse

from app.controllers.api.reports import DOCUMENT, DownloadQuery, FormatQuery, PaperQuery, report_response
from app.controllers.audit import audit
from app.controllers.deps import AdminKeyDep, SessionDep, SettingsDep
from app.schemas.common import NO_NUL, ErrorResponse, error_responses
from app.schemas.monitoring import DriftResponse
from app.schemas.runs import Comparison, CustomersPage, RunList, RunOut
from app.services.runs import records
from app.services.runs.segments import run_segment
from app.services.runs.store import run_path
from app.utils.downloads import content_disposition, safe_name
from app.utils.responses import FastJSONResponse
from app.web.reports import pick_format, render_report

router = APIRouter(prefix="/runs", tags=["runs"])

# Browsing, comparing and exporting read Parquet: pyarrow is imported by the routes that need it, so start-up stays
# light. The browse page size limit is repeated here for the query's validation.
MAX_LIMIT = 1_000

RunId = Annotated[str, PathParam(max_length=64, description="A run id, from X-Run-Id or GET /api/v1/runs.")]
GONE = {
    410: {"model": ErrorResponse, "description": "Retention or RESULTS_MAX_BYTES removed the run's file on that date."}
}
CSV_TYPE = "text/csv; charset=utf-8"


def _csv(chunks, name: str) -> StreamingResponse:
    # A sync iterator: Starlette renders it on a worker thread, chunk by chunk.
    return StreamingResponse(chunks, media_type=CSV_TYPE, headers={"Content-Disposition": content_disposition(name)})


@router.get(
    "",
    response_model=RunList,
    summary="Kept runs",
    description="Runs newest first, removed ones too (with `removed_at`); `segmentation=` keeps one segmentation's "
    "(404 for a segmentation that does not exist and has no kept runs; a deleted one's runs are still listed).",
    responses=error_responses(404, 422, 503),
)
def list_runs(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    segmentation: Annotated[str | None, Query(max_length=40, description="This segmentation's runs."), NO_NUL] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Most runs listed.")] = 100,
) -> FastJSONResponse:
    """Kept runs, newest first."""
    runs = records.list_runs(
        session=session,
        settings=settings,
        segmentation=segmentation,
        limit=limit,
        segmentations=request.app.state.segmentations,
    )
    return FastJSONResponse({"runs": [records.run_out(run) for run in runs]})


@router.get("/{run_id}", response_model=RunOut, summary="A run", responses={**error_responses(404, 422, 503), **GONE})
def get_run(run_id: RunId, session: SessionDep, settings: SettingsDep) -> FastJSONResponse:
    """A run's details and summary."""
    return FastJSONResponse(records.run_out(records.get_run(session=session, settings=settings, run_id=run_id)))


@router.get(
    "/{run_id}/file",
    summary="A run's labelled file",
    description="As CSV, the bytes of the labelled file its scoring answered (its delimiter, line ends and BOM; text "
    "a spreadsheet would run as a formula made inert), or as the Parquet file kept.",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}}},
        **error_responses(404, 422, 503),
        **GONE,
    },
)
def run_file(
    run_id: RunId,
    session: SessionDep,
    settings: SettingsDep,
    format: Annotated[
        Literal["csv", "parquet"], Query(description="The labelled CSV, or the Parquet file kept.")
    ] = "csv",
) -> Response:
    """The labelled file of a run."""
    from app.services.runs.export import run_csv

    run = records.get_run(session=session, settings=settings, run_id=run_id)
    path = run_path(settings.score_results_dir, run.id)
    stem = run.file_name.removesuffix(".csv") + "_segmented"
    if format == "parquet":
        disposition = {"Content-Disposition": content_disposition(f"{stem}.parquet")}
        return FileResponse(path, media_type="application/vnd.apache.parquet", headers=disposition)
    return _csv(run_csv(path), f"{stem}.csv")


@router.get(
    "/{run_id}/crm",
    summary="A run's customers as a CRM contact import",
    description="One segment (`segment=` name or id) or every scored customer, as CSV. `format=generic`: "
    "customer_id, email, first_name, last_name (those the file has; email headed email, e-mail or email address, "
    "any case), segment, segment_id, confidence. `format=hubspot`: HubSpot's import headers Email, First Name, "
    "Last Name, the segment in the custom contact property `customer_segment` (create it, or map it, on import), "
    "then customer_segment_id, segment_confidence and customer_id. HubSpot needs an email on every contact, so a run "
    "without an email column answers 409 for hubspot; a run with neither a customer id column nor an email column "
    "answers 409 for generic (its rows could not be matched to anyone: score with `id_column=`). Text a "
    "spreadsheet would run as a formula is made inert.",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **error_responses(404, 409, 422, 503), **GONE},
)
def run_crm(
    run_id: RunId,
    session: SessionDep,
    settings: SettingsDep,
    format: Annotated[Literal["generic", "hubspot"], Query(description="The CRM's import layout.")] = "generic",
    segment: Annotated[str | None, Query(max_length=100, description="One segment, by name or id.")] = None,
) -> Response:
    """A run's customers as the contact-import CSV of a CRM."""
    from app.services.runs.crm import crm_csv

    run = records.get_run(session=session, settings=settings, run_id=run_id)
    path = run_path(settings.score_results_dir, run.id)
    chunks = crm_csv(run=run, path=path, crm=format, segment=segment or None)
    part = "_" + safe_name(segment) if segment else ""
    name = f"{run.file_name.removesuffix('.csv')}{part}_{format}.csv"
    return _csv(chunks, name)


@router.delete(
    "/{run_id}",
    status_code=204,
    summary="Delete a run",
    description="Removes its file and its row. Needs the admin key.",
    responses=error_responses(401, 403, 404, 422, 429, 503),
)
def delete_run(
    request: Request, run_id: RunId, session: SessionDep, settings: SettingsDep, key: AdminKeyDep
) -> Response:
    """Delete a run and its file."""
    records.delete_run(session=session, settings=settings, run_id=run_id)
    audit(request, who=key, action="run.delete", target=str(run_id))
    return Response(status_code=204)


@router.get(
    "/{run_id}/customers",
    response_model=CustomersPage,
    summary="Browse a run's customers",
    description="Filter by `segment` (name or id), `atypical` and `out_of_range`; `sort` by distance, confidence or "
    "any input column (`-` first for descending); page with `limit` and the answer's `next_cursor`. "
    "`format=csv` downloads every customer the filters select, in that order.",
    responses={**error_responses(404, 422, 503), **GONE},
)
def run_customers(
    run_id: RunId,
    session: SessionDep,
    settings: SettingsDep,
    segment: Annotated[str | None, Query(max_length=100, description="One segment, by name or id.")] = None,
    atypical: Annotated[bool | None, Query(description="true: only atypical customers; false: the others.")] = None,
    out_of_range: Annotated[
        bool | None, Query(description="true: only customers with a value outside the training range; false: others.")
    ] = None,
    sort: Annotated[
        str | None,
        Query(max_length=255, description="`distance`, `confidence` or an input column; `-` first: descending."),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200, description="The `next_cursor` of the page before.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Customers per page.")] = 50,
    format: Annotated[Literal["json", "csv"], Query(description="A page as JSON, or every match as CSV.")] = "json",
) -> Response:
    """A page of a run's customers, or all of them as CSV."""
    from app.services.runs.browse import CustomerQuery, browse_customers, matching_tables
    from app.services.runs.export import customers_csv

    run = records.get_run(session=session, settings=settings, run_id=run_id)
    if segment:
        run_segment(run, segment)  # an unknown segment is a 404 naming the run's, as on every other route
    path = run_path(settings.score_results_dir, run.id)
    query = CustomerQuery(
        segment=segment or None,
        atypical=atypical,
        out_of_range=out_of_range,
        sort=sort or None,
        cursor=cursor,
        limit=limit,
        decimal_comma=records.decimal_comma(run.summary),
    )
    if format == "csv":
        names, tables = matching_tables(path=path, run_id=run.id, query=query)
        return _csv(customers_csv(path, names, tables), f"{run.file_name.removesuffix('.csv')}_customers.csv")
    return FastJSONResponse(browse_customers(path=path, run_id=run.id, query=query))


@router.get(
    "/{a}/compare/{b}",
    response_model=Comparison,
    summary="Compare two runs",
    description="Matched by customer id: how many moved segments, the migration matrix in segment names, and the "
    "customers who moved, are new (only in b) or were lost (only in a). `format=csv` downloads one list whole "
    "(`list=moved`, `new` or `lost`). Runs of different segmentations, or without a customer id column, answer 409.",
    responses={**error_responses(404, 409, 422, 503), **GONE},
)
def compare(
    a: RunId,
    b: RunId,
    session: SessionDep,
    settings: SettingsDep,
    format: Annotated[
        Literal["json", "csv"], Query(description="The comparison as JSON, or one list as CSV.")
    ] = "json",
    which: Annotated[
        Literal["moved", "new", "lost"], Query(alias="list", description="The list `format=csv` downloads.")
    ] = "moved",
) -> Response:
    """Which customers moved between two runs."""
    from app.services.runs.compare import Side, compare_runs, comparison_out, list_table
    from app.services.runs.export import csv_of_tables

    sides = [records.get_run(session=session, settings=settings, run_id=run_id) for run_id in (a, b)]
    first, second = (Side(run, run_path(settings.score_results_dir, run.id)) for run in sides)
    comparison = compare_runs(a=first, b=second)
    if format == "csv":
        names, table = list_table(comparison, which)
        return _csv(csv_of_tables(names, [table]), f"runs_{which}.csv")
    return FastJSONResponse(comparison_out(comparison))


@router.get(
    "/{run_id}/report",
    summary="Segment report of a run",
    description="The run's customers per segment (every feature, age, gender and any categorical column of the file "
    "such as Region) with charts, as profiled by the version that scored them; the migration since the previous run "
    "of the segmentation with a customer id column; and the run's own drift. HTML or PDF (A4 or Letter), by "
    "`format` or the Accept header. A run whose model version was deleted answers 410.",
    response_class=Response,
    responses={**DOCUMENT, **error_responses(404, 422, 503), **GONE},
)
def run_report(
    request: Request,
    run_id: RunId,
    session: SessionDep,
    settings: SettingsDep,
    format: FormatQuery = None,
    paper: PaperQuery = "a4",
    download: DownloadQuery = False,
) -> Response:
    """The report of a run (a sync route: FastAPI draws it in a worker thread, never on the event loop)."""
    from app.services.runs.analysis import run_report as build_report

    chosen = pick_format(format, request.headers.get("accept"))
    run = records.get_run(session=session, settings=settings, run_id=run_id)
    registry = request.app.state.segmentations.registry(run.segmentation)
    report = build_report(session=session, registry=registry, run=run, results_dir=settings.score_results_dir)
    return report_response(render_report(report, format=chosen, paper=paper), download=download)


@router.get(
    "/{run_id}/drift",
    response_model=DriftResponse,
    summary="Drift of a run",
    description="Is this file like the training data? Every drift check of the run's scored customers (each "
    "customer id once) against the training reference of the version that scored them; the window's `kind` is "
    "`run`. A run whose model version was deleted answers 410.",
    responses={**error_responses(404, 422, 503), **GONE},
)
def run_drift(request: Request, run_id: RunId, session: SessionDep, settings: SettingsDep) -> FastJSONResponse:
    """The drift checks of one run's customers."""
    from app.services.runs.analysis import run_drift, run_model

    run = records.get_run(session=session, settings=settings, run_id=run_id)
    model = run_model(registry=request.app.state.segmentations.registry(run.segmentation), run=run)
    return FastJSONResponse(run_drift(model=model, run=run, results_dir=settings.score_results_dir))
