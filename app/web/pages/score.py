"""The /score page: the upload form, and the summary of a scored file with its download."""

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from app.core.config import Settings
from app.core.errors import InvalidRequest, ResultsFull, no_space_as
from app.models.model import SegmentationModel
from app.schemas.scoring import ScoreQuery
from app.services.monitoring.prediction_log import PredictionLogWriter
from app.web import results
from app.web.charts.bars import segment_bars
from app.web.charts.segment_map import customer_points
from app.web.pages.common import segment_context
from app.web.uploads import Upload

SCORE_FORM_DEFAULTS = {"on_error": "flag", "delimiter": "", "income_column": "", "spending_column": "", "id_column": ""}

if TYPE_CHECKING:  # the scoring service pulls in pyarrow: imported on first use, not at start-up
    from app.services.scoring.files import ScoredFile
    from app.services.scoring.options import ScoreOptions


def score_form_fields(fields: dict[str, str]) -> dict[str, str]:
    """The upload form's options as the user sent them, over the defaults (to show the form again as it was)."""
    return {**SCORE_FORM_DEFAULTS, **{key: value for key, value in fields.items() if key in SCORE_FORM_DEFAULTS}}


def score_form_page(
    model: SegmentationModel,
    *,
    max_upload_bytes: int,
    form_token: str,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Context for the upload form, with an error message when the last upload failed."""
    return {
        "model": model,
        "form": {**SCORE_FORM_DEFAULTS, **(form or {})},
        "form_token": form_token,
        "error": error,
        "scored": None,
        "max_upload_mb": max(1, max_upload_bytes // 1_000_000),
    }


def _score_options(fields: dict[str, str]) -> "ScoreOptions":
    """Form fields to options, validated by the API's own query schema."""
    from app.services.scoring.options import score_options

    given = {key: value.strip() for key, value in fields.items() if key in SCORE_FORM_DEFAULTS and value.strip()}
    try:
        query = ScoreQuery.model_validate(given)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidRequest(f"{first['loc'][0]}: {first['msg']}") from None
    return score_options(query=query)


def score_result_page(
    model: SegmentationModel,
    upload: Upload,
    *,
    settings: Settings,
    form_token: str,
    log: PredictionLogWriter | None = None,
    request_id: str | None = None,
) -> tuple[dict[str, Any], "ScoredFile"]:
    """Score an uploaded file to a downloadable labelled file (CPU work: use a thread).

    Returns the context for the summary, and the scored file, whose `record()` the caller calls once the page
    is built.
    """
    from app.services.scoring.files import NO_SPACE_FOR_OUTPUT, score_file

    form = score_form_fields(upload.fields)
    try:
        options = _score_options(upload.fields)
        results.purge_results(settings.score_results_dir, max_age_seconds=settings.score_results_ttl_seconds)
        with no_space_as(NO_SPACE_FOR_OUTPUT):  # the results folder may be created here
            token, path = results.result_path(settings.score_results_dir, name=upload.name)
        scored = score_file(
            model,
            upload.path,
            options=options,
            target=path,
            spool_rows=settings.scoring_log_spool_rows,
            log=log,
            request_id=request_id,
        )
    finally:
        upload.discard()
    summary = scored.summary
    if summary.rows == 0:
        # The API answers a header-only file with a header-only file; a page of empty charts helps no one.
        path.unlink(missing_ok=True)
        raise InvalidRequest("the file has a header but no customer rows below it")
    size = path.stat().st_size
    if not results.make_room(settings.score_results_dir, keep=path, max_bytes=settings.results_max_bytes):
        path.unlink(missing_ok=True)
        raise ResultsFull(
            f"the labelled file ({size:,} bytes) is larger than RESULTS_MAX_BYTES "
            f"({settings.results_max_bytes:,} bytes); nothing was kept"
        )
    data = summary.to_dict()
    styles = segment_context(model)["styles"]
    context = score_form_page(model, max_upload_bytes=settings.max_upload_bytes, form_token=form_token, form=form)
    segment_map = segment_context(model)["segment_map"]
    if segment_map:
        counts = {segment["segment_id"]: segment["count"] for segment in data["segments"]}
        segment_map = {
            **segment_map,
            "points": customer_points(segment_map, model, summary.sample),
            "legend": [{**item, "size": counts[item["style"].segment_id]} for item in segment_map["legend"]],
        }
    context.update(
        {
            "scored": data,
            "file_name": results.download_name(path),
            "download_token": token,
            "bars": segment_bars(data["segments"], model),
            "styles": styles,
            "segment_map": segment_map,
            "sampled": len(summary.sample),
        }
    )
    return context, scored
