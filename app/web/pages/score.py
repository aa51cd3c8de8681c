"""The /score page: the upload form, and the summary of a scored file with its download."""

import re
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from app.core.config import Settings
from app.core.errors import InvalidRequest, ResultsFull, no_space_as
from app.models.features import Feature
from app.models.model import SegmentationModel
from app.models.rfm.columns import ROLE_TEXT
from app.models.rfm.left_out import LEFT_OUT_REASONS
from app.models.segmentations.spec import DEFAULT_NAME
from app.schemas.scoring import ScoreQuery
from app.services.monitoring.prediction_log import PredictionLogWriter
from app.utils.text import as_sentence, noun
from app.web import results
from app.web.charts.bars import segment_bars
from app.web.charts.segment_map import customer_points
from app.web.pages.common import segment_context
from app.web.uploads import Upload

# The form's options (select and text fields are sent as text; an unticked checkbox is not sent, hence "").
SCORE_FORM_DEFAULTS = {
    "on_error": "flag",
    "delimiter": "",
    "id_column": "",
    "formula_guard": "true",
    "excel": "false",
    "extra_runner_up": "",
    "extra_description": "",
    "extra_marketing_strategy": "",
}
# One checkbox per optional column, so a browser's form (one value per name here) can ask for several.
EXTRA_COLUMN_FIELDS = {
    "extra_runner_up": "runner_up",
    "extra_description": "description",
    "extra_marketing_strategy": "marketing_strategy",
}
# One text field per feature of the segmentation, `column_<feature>`, sent to the service as column=feature:value.
COLUMN_FIELD = "column_"
# The form's labels, which the page's messages use where the API's name its parameters.
FIELD_LABELS = {
    "on_error": "Bad rows",
    "delimiter": "Delimiter",
    "id_column": "Customer id column",
    "formula_guard": "Formulas in text cells",
    "excel": "Made for",
    "extra_columns": "Extra columns",
}


def column_label(feature: Feature) -> str:
    """The label of the form's field for a feature's column."""
    return f"Column in your file for {feature.label}"


def _mapped_label(match: re.Match[str], features: dict[str, Feature]) -> str:
    """A column named for a feature (or the customer id) that the file lacks, said by the form's field."""
    if match[2] == "customer_id":
        return f"{FIELD_LABELS['id_column']} names {match[1]}, which"
    return f"{column_label(features[match[2]])} names {match[1]}, which" if match[2] in features else match[0]


def _read_twice(match: re.Match[str], features: dict[str, Feature]) -> str:
    """One column read as two features, said with their labels."""
    first, second = (features[name].label if name in features else name for name in (match[1], match[2]))
    return f"{first} and {second} would both be read from {match[3]}: under Options, give each its own column"


_NAME_YOURS = "or name yours under Options, in the “Column in your file for …” fields"
# The scoring service words its messages for API callers (`column=`, `on_error=flag`); the page says the same in
# the words on the form. A message these do not match is shown as it is.
_PAGE_WORDS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str], dict[str, Feature]], str]], ...] = (
    (re.compile(r"or name them with income_column= and spending_column="), _NAME_YOURS),
    (re.compile(r"or name the column of each with column=<feature>:<column>"), _NAME_YOURS),
    (re.compile(r"the column mapping names ('.*') for ([a-z][a-z0-9_]*), which"), _mapped_label),
    (
        re.compile(r"^([a-z][a-z0-9_]*) and ([a-z][a-z0-9_]*) would both be read from ('.*'): each feature needs .*"),
        _read_twice,
    ),
    (
        re.compile(r"score with on_error=flag or on_error=skip"),
        "under Options choose Bad rows: “Keep them, with the reason” or “Leave them out”",
    ),
    (re.compile(r"^missing column\(s\) "), "The file lacks a column the model needs: "),
    (re.compile(r" \(MAX_UPLOAD_BYTES\)"), ""),
    # A transactions file (RFM): the date format and the columns are the segmentation's, set when it is created.
    (
        re.compile(r"give its format as date_format, such as ('[^']*')"),
        lambda match, features: (
            "write the dates in one format, such as 2011-12-09 14:05 or 12/9/11 14:05, or have an "
            f"administrator create the segmentation with its date_format, such as {match[1]} (for "
            f"{readable_date_format(match[1][1:-1])})"
        ),
    ),
    (
        re.compile(r"^the transactions file has no (customer id|date|amount) column"),
        lambda match, features: f"{match[0]} (one named like {_COLUMN_EXAMPLES[match[1]]})",
    ),
)
# Headers a transactions file's columns are found by, for the form's help and its messages.
_COLUMN_EXAMPLES = {
    "customer id": "CustomerID, Customer or ClientID",
    "date": "InvoiceDate, Date or OrderDate",
    "amount": "Amount, Total or Sales",
}

if TYPE_CHECKING:  # the scoring service pulls in pyarrow: imported on first use, not at start-up
    from sqlalchemy.orm import Session, sessionmaker

    from app.services.runs.store import RunFile
    from app.services.scoring.files import ScoredFile
    from app.services.scoring.options import ScoreOptions


def in_page_words(message: str, features: Sequence[Feature] = ()) -> str:
    """An error message with the API's parameter names replaced by the form's labels (`features`: the model's)."""
    by_name = {feature.name: feature for feature in features}
    for pattern, replacement in _PAGE_WORDS:
        message = pattern.sub(
            replacement if isinstance(replacement, str) else partial(replacement, features=by_name), message
        )
    return message


def column_fields(model: SegmentationModel) -> list[tuple[str, str]]:
    """The form's field and label for each feature's column; none for a transactions file, whose are the spec's."""
    if transactions_file(model) is not None:
        return []
    return [(COLUMN_FIELD + feature.name, column_label(feature)) for feature in model.feature_specs]


def form_defaults(model: SegmentationModel) -> dict[str, str]:
    """The form as the page first shows it: the options' defaults, every column field empty."""
    return {**SCORE_FORM_DEFAULTS, **{field: "" for field, _ in column_fields(model)}}


def score_form_fields(fields: dict[str, str], model: SegmentationModel) -> dict[str, str]:
    """The upload form's options as the user sent them, over the defaults (to show the form again as it was)."""
    defaults = form_defaults(model)
    return {**defaults, **{key: value for key, value in fields.items() if key in defaults}}


# strptime's codes as people write a date's parts: %d/%m/%Y %H:%M reads DD/MM/YYYY hh:mm.
_DATE_PARTS = {
    "d": "DD",
    "m": "MM",
    "Y": "YYYY",
    "y": "YY",
    "H": "hh",
    "I": "hh",
    "M": "mm",
    "S": "ss",
    "f": "ffffff",
    "p": "AM/PM",
    "b": "Mon",
    "B": "Month",
    "a": "Day",
    "A": "Weekday",
    "j": "DDD",
    "z": "+hhmm",
    "Z": "zone",
    "%": "%",
}


def readable_date_format(date_format: str) -> str:
    """A strptime format as people write it ("%d/%m/%Y %H:%M" reads "DD/MM/YYYY hh:mm"); unknown codes stay."""
    return re.sub(r"%(.)", lambda code: _DATE_PARTS.get(code[1], code[0]), date_format)


def transactions_file(model: SegmentationModel) -> dict[str, Any] | None:
    """What an RFM segmentation's upload holds: the columns its spec names and its date format; None when the
    model scores a file of customers (one per row) instead of transactions."""
    if model.info.get("kind") != "rfm":
        return None
    options = model.info.get("rfm_options") or {}
    named = options.get("columns") or {}
    return {
        "named": [{"role": ROLE_TEXT.get(role, role), "column": column} for role, column in named.items()],
        "date_format": options.get("date_format") and readable_date_format(options["date_format"]),
        "average": options.get("monetary") == "average",
    }


def transactions_read(summary: dict[str, Any]) -> str:
    """How a transactions file was read, as a sentence: lines, what was left out, the dates, the customers."""
    # The lines left out, then the cancellations (netted into monetary, not left out).
    counted = (*LEFT_OUT_REASONS, ("cancellation_rows", "cancellations"))
    parts = [f"{summary['rows_read']:,} transaction lines read"]
    parts += [f"{summary[key]:,} {text}" for key, text in counted if summary.get(key)]
    if summary.get("date_formats"):
        parts.append(f"dates read as {' or '.join(map(readable_date_format, summary['date_formats']))}")
    parts.append(f"recency counted to {summary['reference_date']}")
    notes = []
    if summary.get("customers_dropped"):
        notes.append(f"{summary['customers_dropped']:,} left out: net spend of zero or less")
    elif summary.get("customers_non_positive"):
        notes.append(f"{summary['customers_non_positive']:,} with a net spend of zero or less, flagged")
    if summary.get("customers_without_usable_transactions"):
        notes.append(f"{summary['customers_without_usable_transactions']:,} more without a usable transaction")
    customers = f"{summary['customers']:,} {noun(summary['customers'], 'customer')}"
    return ", ".join([*parts, customers + (f" ({'; '.join(notes)})" if notes else "")])


def score_form_page(
    model: SegmentationModel,
    *,
    max_upload_bytes: int,
    form_token: str,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Context for the upload form, with an error message when the last upload failed."""
    defaults = form_defaults(model)
    form = {**defaults, **(form or {})}
    return {
        "model": model,
        "form": form,
        "form_token": form_token,
        "error": as_sentence(in_page_words(error, model.feature_specs)) if error else None,
        "diagnosis": None,
        "scored": None,
        "column_fields": column_fields(model),
        # Open when an option is set, or after a problem that an option may fix, so the user sees what was sent.
        "options_open": error is not None or form != defaults,
        "max_upload_mb": max(1, max_upload_bytes // 1_000_000),
        "transactions_file": transactions_file(model),
        "transactions_read": None,
    }


def _score_options(fields: dict[str, str], model: SegmentationModel) -> "ScoreOptions":
    """Form fields to options, validated by the API's own query schema (a feature's column field as its column=)."""
    from app.services.scoring.options import score_options

    given: dict[str, Any] = {
        key: value.strip()
        for key, value in fields.items()
        if key in SCORE_FORM_DEFAULTS and key not in EXTRA_COLUMN_FIELDS and value.strip()
    }
    given["extra_columns"] = [column for field, column in EXTRA_COLUMN_FIELDS.items() if fields.get(field)]
    named = [(field, label) for field, label in column_fields(model) if fields.get(field, "").strip()]
    given["column"] = [f"{field.removeprefix(COLUMN_FIELD)}:{fields[field].strip()}" for field, _ in named]
    try:
        query = ScoreQuery.model_validate(given)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = first["loc"]
        # A column field's problem is under ("column", its index among the column fields given).
        is_column = where[0] == "column" and len(where) > 1 and isinstance(where[1], int) and where[1] < len(named)
        label = named[where[1]][1] if is_column else FIELD_LABELS.get(str(where[0]), str(where[0]))
        raise InvalidRequest(f"{label}: {first['msg']}") from None
    return score_options(query=query)


def score_result_page(
    model: SegmentationModel,
    upload: Upload,
    *,
    settings: Settings,
    form_token: str,
    log: PredictionLogWriter | None = None,
    request_id: str | None = None,
    segmentation: str = DEFAULT_NAME,
    sessions: "sessionmaker[Session] | None" = None,
) -> tuple[dict[str, Any], "ScoredFile | None"]:
    """Score an uploaded file to a downloadable labelled file (CPU work: use a thread).

    Returns the context for the summary, and the scored file, whose `record()` the caller calls once the page
    is built; None instead when no customer could be scored, and the context then says why. With `sessions`, a
    file scored is also kept as a run, linked from the page.
    """
    from app.services.runs.records import keep_scored_run
    from app.services.runs.store import RunFile
    from app.services.scoring.files import NO_SPACE_FOR_OUTPUT

    with no_space_as(NO_SPACE_FOR_OUTPUT):
        run_file = RunFile(settings.score_results_dir) if sessions is not None and settings.runs_kept else None
    try:
        context, scored = _score_result(
            model, upload, settings=settings, form_token=form_token, log=log, request_id=request_id,
            segmentation=segmentation, keep=run_file,
        )  # fmt: skip
    except BaseException:
        if run_file is not None:
            run_file.discard()
        raise
    context["upload_name"] = upload.name  # the page's title names the file it scored
    if run_file is not None:
        if scored is None:
            run_file.discard()
        else:
            download = results.find_result(settings.score_results_dir, context["download_token"])
            kept = keep_scored_run(
                sessions=sessions, settings=settings, run_file=run_file, summary=context["scored"],
                segmentation=segmentation, file_name=upload.name, source="page", keep_also=download,
            )  # fmt: skip
            context["run_id"], context["run_not_kept"] = kept.run_id, kept.not_kept
    return context, scored


def _score_result(
    model: SegmentationModel,
    upload: Upload,
    *,
    settings: Settings,
    form_token: str,
    log: PredictionLogWriter | None,
    request_id: str | None,
    segmentation: str,
    keep: "RunFile | None",
) -> tuple[dict[str, Any], "ScoredFile | None"]:
    """Score the upload, as score_result_page says."""
    from app.services.scoring.diagnosis import explain_unscored, unit_warnings
    from app.services.scoring.files import NO_SPACE_FOR_OUTPUT, score_file

    form = score_form_fields(upload.fields, model)
    try:
        options = _score_options(upload.fields, model)
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
            segmentation=segmentation,
            keep=keep,
        )
        summary = scored.summary
        # A few raw values tell decimal commas or dollars apart; read before the upload is deleted.
        diagnosis = explain_unscored(model, upload.path, summary)
        # Most rows scored but out of range ("income looks like dollars"): said on the page as the API says it.
        warnings = unit_warnings(model, upload.path, summary) if diagnosis is None else []
    finally:
        upload.discard()
    if summary.rows == 0 or diagnosis is not None:
        # Nothing to download or chart: the API answers a header-only file with a header-only file, but a page of
        # empty charts and a Download button would read as a success.
        path.unlink(missing_ok=True)
    if summary.rows == 0:
        raise InvalidRequest("the file has a header but no customer rows below it")
    data = summary.to_dict()
    context = score_form_page(model, max_upload_bytes=settings.max_upload_bytes, form_token=form_token, form=form)
    if summary.rfm is not None:  # the file's rows were transactions; the summary's rows are its customers
        context["transactions_read"] = transactions_read(summary.rfm)
    if diagnosis is not None:
        context.update({"scored": data, "diagnosis": diagnosis, "options_open": True})
        return context, None
    size = path.stat().st_size
    if not results.make_room(settings.score_results_dir, keep=path, max_bytes=settings.results_max_bytes):
        path.unlink(missing_ok=True)
        raise ResultsFull(
            f"the labelled file ({size:,} bytes) is larger than RESULTS_MAX_BYTES "
            f"({settings.results_max_bytes:,} bytes); nothing was kept"
        )
    styles = segment_context(model)["styles"]
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
            "warnings": warnings,
        }
    )
    return context, scored
