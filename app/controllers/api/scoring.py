"""POST /api/v1/predict/csv: score a whole customer file, streamed back as labelled CSV or summarised as JSON."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.controllers.deps import (
    AnalystsOnly,
    PredictRateLimit,
    RequestedModelDep,
    SameSiteOnly,
    SettingsDep,
    prediction_log_target,
    segmentation_of,
)
from app.schemas.common import UPLOAD_BODY, ErrorResponse, error_responses
from app.schemas.scoring import ScoreQuery, ScoreSummaryOut
from app.utils.downloads import content_disposition
from app.utils.responses import FastJSONResponse, TemporaryFileResponse
from app.web import uploads

router = APIRouter(prefix="/predict", tags=["predictions"])

MODEL_VERSION_HEADER = "X-Model-Version"
RUN_ID_HEADER = "X-Run-Id"
# Sent instead of X-Run-Id when a file was scored but could not be kept as a run: why (database down, disk full).
RUN_NOT_KEPT_HEADER = "X-Run-Not-Kept"
# The labelled CSV's counts, for a client that reads the file and not the summary: rows read, rows scored, and rows
# the file leaves out (skipped, and lines with the wrong number of fields, which have no columns to echo).
COUNT_HEADERS = {"X-Rows-Read": "rows", "X-Rows-Scored": "scored", "X-Rows-Left-Out": "skipped"}


@router.post(
    "/csv",
    summary="Segment a whole customer file",
    description="Send a CSV file as a `text/csv` body or as the `file` field of a multipart form (public header, "
    "snake_case, or name the columns: `column=feature:column` for any feature of the segmentation, repeated "
    "(`?column=visits:Visits%20per%20month&column=tenure_months:Tenure`), `income_column` and `spending_column` for "
    "the default's two, `id_column`). The answer streams "
    "back every input column unchanged, in input order, followed by `segment_id`, `segment_name`, `confidence`, "
    "`distance`, `is_atypical` and `out_of_range`; the model version is in the `X-Model-Version` header, and the "
    "counts in `X-Rows-Read`, `X-Rows-Scored` and `X-Rows-Left-Out` (rows the file leaves out: skipped ones, and "
    "lines with the wrong number of fields, which have no columns to echo). With "
    "`Accept: application/json` the answer is the summary instead: counts, shares and profile per segment, and "
    "bad rows per reason. Every file scored is kept as a run: its id is in the `X-Run-Id` header and the summary's "
    "`run_id` (see /api/v1/runs); when it cannot be kept (the database unavailable, the disk full), the file "
    "still comes back, and the `X-Run-Not-Kept` header and the summary's `run_not_kept` say why. "
    "Uploads up to `MAX_UPLOAD_BYTES` (default 200 MB).",
    response_model=ScoreSummaryOut,
    responses={
        200: {"content": {"text/csv": {}}, "description": "The labelled CSV, or the summary as JSON."},
        **error_responses(400, 401, 404, 413, 415, 422, 429, 503),
        403: {
            "model": ErrorResponse,
            "description": "Sent by a browser from a page of another site, or a key that is no key of this server, or "
            "a caller whose role is too low (PUBLIC_READS off).",
        },
    },
    # A form or text/plain post from another site needs no preflight: refused here, before the upload is read, and
    # before it is counted, so another site's page cannot spend a visitor's prediction allowance.
    # Scoring files needs an analyst once PUBLIC_READS is off.
    dependencies=[SameSiteOnly, AnalystsOnly, PredictRateLimit],
    openapi_extra=UPLOAD_BODY,
)
async def predict_csv(
    request: Request, query: Annotated[ScoreQuery, Query()], model: RequestedModelDep, settings: SettingsDep
) -> Response:
    """Score an uploaded file (async to stream the upload; the CPU work runs in the thread pool)."""
    # The scoring service pulls in pyarrow: imported on first use, so start-up stays light.
    from app.services.runs.records import KeptRun, keep_scored_run
    from app.services.runs.store import RunFile
    from app.services.scoring.diagnosis import explain_unscored, unit_warnings
    from app.services.scoring.files import score_file, temporary_path
    from app.services.scoring.options import score_options

    options = score_options(query=query)
    upload = await uploads.receive_upload(request.headers, request.stream(), limit=settings.max_upload_bytes)
    summary_only = "application/json" in request.headers.get("accept", "")
    log = prediction_log_target(request)
    run_file = None
    try:
        if settings.runs_kept:
            run_file = await run_in_threadpool(RunFile, settings.score_results_dir)
        scored = await run_in_threadpool(
            score_file,
            model,
            upload.path,
            options=options,
            target=None if summary_only else temporary_path(),
            spool_rows=settings.scoring_log_spool_rows,
            log=log.writer,
            request_id=log.request_id,
            segmentation=segmentation_of(request),
            keep=run_file,
        )
        # When no row could be scored, why (decimal commas, dollars for k$, ...): read before the upload goes.
        diagnosis = await run_in_threadpool(explain_unscored, model, upload.path, scored.summary)
        warnings = await run_in_threadpool(unit_warnings, model, upload.path, scored.summary)
    except BaseException:
        if run_file is not None:
            await run_in_threadpool(run_file.discard)
        raise
    finally:
        upload.discard()
    # Counted, logged and kept as a run only now that the whole file is scored (and its labelled file written).
    await run_in_threadpool(scored.record)
    summary = scored.summary.to_dict()
    kept = KeptRun()
    if run_file is not None:
        kept = await run_in_threadpool(
            keep_scored_run,
            sessions=request.app.state.db_sessions,
            settings=settings,
            run_file=run_file,
            summary=summary,
            segmentation=segmentation_of(request),
            file_name=upload.name,
            source="api",
        )
    headers = {MODEL_VERSION_HEADER: scored.summary.model_version}
    if kept.run_id is not None:
        headers[RUN_ID_HEADER] = kept.run_id
    if kept.not_kept is not None:
        headers[RUN_NOT_KEPT_HEADER] = kept.not_kept
    if scored.path is None:
        body = {**summary, "run_id": kept.run_id, "run_not_kept": kept.not_kept}
        if diagnosis is not None:
            body["diagnosis"] = {"cause": diagnosis.cause, "message": diagnosis.message}
        if warnings:
            body["warnings"] = warnings
        return FastJSONResponse(body, headers=headers)
    headers["Content-Disposition"] = content_disposition(f"{upload.name}_segmented.csv")
    headers |= {name: str(summary[key]) for name, key in COUNT_HEADERS.items()}
    return TemporaryFileResponse(scored.path, media_type="text/csv; charset=utf-8", headers=headers)
