"""What the home and about pages show, assembled from the same services the API uses."""

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from app.core.config import Settings
from app.core.errors import InvalidRequest, SegmentationError, no_space_as
from app.models.features import FEATURES
from app.models.model import SegmentationModel
from app.models.versions.registry import ModelRegistry
from app.schemas.prediction import CustomerIn, CustomerValidator
from app.schemas.scoring import ScoreQuery
from app.services import prediction, segments
from app.services.monitoring.prediction_log import PredictionLogWriter
from app.utils.colour import AA_TEXT, contrast_ratio
from app.utils.numbers import DECIMAL_OR_NON_FINITE
from app.web import results
from app.web.charts import monitoring as monitoring_charts
from app.web.charts import segments as charts
from app.web.uploads import Upload

if TYPE_CHECKING:
    from app.services.scoring import ScoreOptions


DEFAULT_CUSTOMER = {"annual_income": "60", "spending_score": "50"}

METRIC_MEANINGS = {
    "silhouette": (
        "Silhouette",
        "From -1 to 1: how much closer customers are to their own segment than to the next one; above 0.5 is a "
        "clear structure.",
    ),
    "davies_bouldin": (
        "Davies-Bouldin index",
        "From 0 up: how much segments overlap relative to their size; lower is better, below 1 is well separated.",
    ),
    "calinski_harabasz": (
        "Calinski-Harabasz index",
        "From 0 up: spread between segments divided by spread within them; higher means denser, more distinct groups.",
    ),
    "inertia": (
        "Inertia",
        "Sum of squared distances from each customer to its segment centre (standardized units); it always falls as k "
        "grows, so look for the elbow.",
    ),
}


def parse_customer(values: dict[str, str | None]) -> tuple[CustomerIn | None, dict[str, str]]:
    """Validate form text with the API's own schema; return the customer or a message per field."""
    numbers: dict[str, float] = {}
    errors: dict[str, str] = {}
    for field in ("annual_income", "spending_score"):
        text = (values.get(field) or "").strip()
        if not text:
            errors[field] = "Enter a number."
            continue
        if not DECIMAL_OR_NON_FINITE.fullmatch(text):
            errors[field] = f"'{text[:20]}' is not a number."
            continue
        numbers[field] = float(text)
    if errors:
        return None, errors
    try:
        return CustomerValidator.validate_python(numbers), {}
    except ValidationError as exc:
        for error in exc.errors():
            errors[str(error["loc"][0])] = _friendly(str(error["loc"][0]), error)
        return None, errors


def _friendly(field: str, error: dict[str, Any]) -> str:
    bounds = FEATURES[field].range_text()
    if error["type"] == "finite_number":
        return f"Enter a finite number {bounds}."
    return f"Enter a value {bounds}."


# The form's fields: labels and accepted ranges from the feature definitions; slider ends are a display choice.
FORM_FIELDS = [
    {"name": name, "label": label, "feature": FEATURES[name], "slider_min": low, "slider_max": high}
    for name, label, low, high in (
        ("annual_income", "Annual income", 0, 150),
        ("spending_score", "Spending score", 1, 100),
    )
]
_FIELDS = {field["name"]: field for field in FORM_FIELDS}


def slider_value(field: str, text: str) -> str:
    """Where a field's slider stands for a typed value: clamped to the slider's ends, whole numbers, as browsers do."""
    spec = _FIELDS[field]
    try:
        value = float(text)
    except ValueError:
        return str(spec["slider_min"])
    if value != value:  # NaN
        return str(spec["slider_min"])
    return str(round(min(max(value, spec["slider_min"]), spec["slider_max"])))


def submitted_form(values: dict[str, str | None]) -> dict[str, str | None]:
    """The value of each field the user set in the no-JavaScript form: the number box, or the slider if only it moved.

    Both controls submit (the slider as `<field>_slider`), with `<field>_was`, the box's value as the page showed it.
    A changed box wins; otherwise a slider moved away from where the page put it wins; otherwise the box.
    """
    form: dict[str, str | None] = {}
    for field in DEFAULT_CUSTOMER:
        number, slider, was = values.get(field), values.get(f"{field}_slider"), values.get(f"{field}_was")
        number_changed = was is None or (number or "").strip() != was.strip()
        slider_moved = slider is not None and was is not None and slider.strip() != slider_value(field, was)
        form[field] = slider.strip() if slider_moved and not number_changed else number
    return form


def _number_text(value: float) -> str:
    """A number as the page prints it: grouped thousands, at most one decimal."""
    text = f"{value:,.1f}"
    return text[:-2] if text.endswith(".0") else text


def out_of_range_notes(result: dict[str, Any]) -> list[str]:
    """One sentence per value outside the training range, as the result card shows them (app.js words them alike)."""
    notes = []
    for item in result.get("out_of_range", []):
        feature = FEATURES[item["feature"]]
        unit = f" {feature.short_unit}" if feature.short_unit else ""
        notes.append(
            f"{feature.noun} {_number_text(item['value'])}{unit} is outside the {feature.plural} this model was "
            f"trained on ({_number_text(item['training_min'])}–{_number_text(item['training_max'])}{unit}): "
            "treat the segment as an extrapolation."
        )
    return notes


def home_page(registry: ModelRegistry, values: dict[str, str | None]) -> dict[str, Any]:
    """Context for the home page: the form, its result or errors, and the segment map."""
    submitted = any(values.get(field) is not None for field in DEFAULT_CUSTOMER)
    chosen = submitted_form(values)
    form = {field: (chosen.get(field) if submitted else DEFAULT_CUSTOMER[field]) or "" for field in DEFAULT_CUSTOMER}
    context: dict[str, Any] = {
        "fields": FORM_FIELDS,
        "form": form,
        "sliders": {field: slider_value(field, text) for field, text in form.items()},
        "errors": {},
        "result": None,
        "notes": [],
        "marker": None,
        "model": registry.active,
    }
    if registry.active is None:
        return context
    model = registry.active
    customer, errors = parse_customer(form)
    context["errors"] = errors
    context.update(_segment_context(model))
    if customer is not None:
        context["result"] = prediction.predict_customer(model, customer)
        context["notes"] = out_of_range_notes(context["result"])
        if context["segment_map"]:
            context["marker"] = charts.map_position(
                context["segment_map"], customer["annual_income"], customer["spending_score"]
            )
    return context


@lru_cache(maxsize=4)
def _segment_context(model: SegmentationModel) -> dict[str, Any]:
    """Colours, shapes and map geometry: fixed for a model, so built once (the map takes ~10 ms) and shared."""
    styles = charts.segment_styles(model)
    return {
        "styles": {style.segment_id: style for style in styles},
        "styles_json": {str(s.segment_id): {"colour": s.colour, "path": s.path, "shape": s.shape} for s in styles},
        "segment_map": charts.segment_map(model),
    }


def about_page(model: SegmentationModel, *, base_url: str) -> dict[str, Any]:
    """Context for the model card: facts, metrics with meanings, k chart, statistics, segments, API example."""
    facts = segments.model_facts(model)
    statistics = segments.segment_statistics(model)["segments"]
    descriptions = segments.segment_descriptions(model)["segments"]
    return {
        "model": model,
        "facts": facts,
        "metrics": [
            {"key": key, "label": label, "meaning": meaning, "value": facts["metrics"][key]}
            for key, (label, meaning) in METRIC_MEANINGS.items()
        ],
        "k_chart": charts.k_selection_chart(model),
        "segments": [
            {**stats, **info, "profile_text": profile_text(stats.get("profile"))}
            for stats, info in zip(statistics, descriptions, strict=True)
        ],
        "segment_columns": grid_columns(len(statistics)),
        "curl_example": (
            f"curl -s -X POST {base_url}/api/v1/predict -H 'Content-Type: application/json' "
            '-d \'{"annual_income": 120, "spending_score": 90}\''
        ),
        "styles": _segment_context(model)["styles"],
    }


def grid_columns(count: int) -> int:
    """Columns for a grid of `count` cards that never leaves one card alone on the last row (5 -> 3 + 2)."""
    for columns in (3, 4, 2):
        if count <= columns or count % columns == 0 or count % columns >= columns - 1:
            return min(columns, count) if count > 1 else 1
    return 2


def profile_text(profile: dict[str, Any] | None) -> str:
    """One sentence about a segment's ages and genders, or '' when the training data had neither."""
    if not profile:
        return ""
    parts = []
    if age := profile.get("age"):
        parts.append(
            f"Average age {age['mean']:.1f} (median {age['median']:.0f}; half are {age['q1']:.0f}–{age['q3']:.0f})"
        )
    if gender := profile.get("gender"):
        shares = sorted(gender.items(), key=lambda item: -item[1])
        parts.append(", ".join(f"{share * 100:.0f}% {name.lower()}" for name, share in shares))
    return "; ".join(parts) + "." if parts else ""


SCORE_FORM_DEFAULTS = {"on_error": "flag", "delimiter": "", "income_column": "", "spending_column": "", "id_column": ""}


def score_form_fields(fields: dict[str, str]) -> dict[str, str]:
    """The upload form's options as the user sent them, over the defaults (to show the form again as it was)."""
    return {**SCORE_FORM_DEFAULTS, **{key: value for key, value in fields.items() if key in SCORE_FORM_DEFAULTS}}


def score_form_page(
    model: SegmentationModel, *, max_upload_bytes: int, error: str | None = None, form: dict[str, str] | None = None
) -> dict[str, Any]:
    """Context for the upload form, with an error message when the last upload failed."""
    return {
        "model": model,
        "form": {**SCORE_FORM_DEFAULTS, **(form or {})},
        "error": error,
        "scored": None,
        "max_upload_mb": max(1, max_upload_bytes // 1_000_000),
    }


def _score_options(fields: dict[str, str]) -> "ScoreOptions":
    """Form fields to options, validated by the API's own query schema."""
    from app.services.scoring import ScoreOptions

    given = {key: value.strip() for key, value in fields.items() if key in SCORE_FORM_DEFAULTS and value.strip()}
    try:
        query = ScoreQuery.model_validate(given)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidRequest(f"{first['loc'][0]}: {first['msg']}") from None
    return ScoreOptions(
        on_error=query.on_error,
        delimiter=query.separator(),
        income_column=query.income_column,
        spending_column=query.spending_column,
        id_column=query.id_column,
    )


def score_result_page(
    model: SegmentationModel,
    upload: Upload,
    *,
    settings: Settings,
    log: PredictionLogWriter | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Score an uploaded file to a downloadable labelled file; context for the summary (CPU work: use a thread)."""
    # pulls in pyarrow: imported on first use, not at start-up
    from app.services.scoring import NO_SPACE_FOR_OUTPUT, score_csv

    form = score_form_fields(upload.fields)
    try:
        options = _score_options(upload.fields)
        results.purge_results(settings.score_results_dir, max_age_seconds=settings.score_results_ttl_seconds)
        with no_space_as(NO_SPACE_FOR_OUTPUT):  # the results folder may be created here
            token, path = results.result_path(settings.score_results_dir, name=upload.name)
        try:
            with no_space_as(NO_SPACE_FOR_OUTPUT), path.open("wb") as sink:
                summary = score_csv(model, upload.path, sink, options=options, log=log, request_id=request_id)
            if summary.rows == 0:
                # The API answers a header-only file with a header-only file; a page of empty charts helps no one.
                raise InvalidRequest("the file has a header but no customer rows below it")
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    finally:
        upload.discard()
    data = summary.to_dict()
    styles = _segment_context(model)["styles"]
    context = score_form_page(model, max_upload_bytes=settings.max_upload_bytes, form=form)
    segment_map = _segment_context(model)["segment_map"]
    if segment_map:
        counts = {segment["segment_id"]: segment["count"] for segment in data["segments"]}
        segment_map = {
            **segment_map,
            "points": charts.customer_points(segment_map, model, summary.sample),
            "legend": [{**item, "size": counts[item["style"].segment_id]} for item in segment_map["legend"]],
        }
    context.update(
        {
            "scored": data,
            "file_name": results.download_name(path),
            "download_token": token,
            "bars": charts.segment_bars(data["segments"], model),
            "styles": styles,
            "segment_map": segment_map,
            "sampled": len(summary.sample),
        }
    )
    return context


# Each status has a symbol and a word, so colour is never the only cue.
STATUS_SYMBOLS = {"stable": "✓", "watch": "!", "drift": "✕", "insufficient data": "…"}


def monitoring_page(
    model: SegmentationModel,
    report: dict[str, Any],
    volume: dict[str, Any],
    activation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Context for /monitoring: drift, volume, histograms and segment mix as chart geometry, the last activation."""
    styles = {style.segment_id: style for style in charts.segment_styles(model)}
    return {
        "report": report,
        "volume": volume,
        "volume_chart": monitoring_charts.volume_chart(volume, styles),
        "histograms": [monitoring_charts.histogram_chart(check) for check in report["features"]],
        "mix_chart": monitoring_charts.mix_chart(report["segment_mix"], styles) if report["segment_mix"] else None,
        "trained_at": model.info.get("trained_at"),
        "activation": activation,
        "model_version": model.version,
        "symbols": STATUS_SYMBOLS,
        "styles": styles,
    }


HEATMAP_CELL = 30
HEATMAP_LABEL = 40
# The two text colours a heatmap cell can take: the stylesheet's --ink and white (`.heatmap text.on-dark`).
HEATMAP_INK, HEATMAP_ON_DARK = "#17202e", "#ffffff"


def _heatmap_fill(strength: float) -> str:
    """The blue ramp from near-white (0) to dark (1)."""
    return f"#{int(240 - 229 * strength):02x}{int(245 - 158 * strength):02x}{int(250 - 86 * strength):02x}"


def _best_text_contrast(fill: str) -> float:
    return max(contrast_ratio(HEATMAP_ON_DARK, fill), contrast_ratio(HEATMAP_INK, fill))


def _legible_strength(strength: float) -> float:
    """`strength`, or the nearest one whose fill takes a text colour at AA contrast.

    Neither dark ink nor white reaches 4.5:1 on the ramp's mid-tones (relative luminance ~0.18-0.24), so a count
    that would land there is drawn at the nearer edge of that band.
    """
    if _best_text_contrast(_heatmap_fill(strength)) >= AA_TEXT:
        return strength
    lighter = darker = strength
    while lighter > 0 and _best_text_contrast(_heatmap_fill(lighter)) < AA_TEXT:
        lighter = max(lighter - 0.005, 0.0)
    while darker < 1 and _best_text_contrast(_heatmap_fill(darker)) < AA_TEXT:
        darker = min(darker + 0.005, 1.0)
    return lighter if strength - lighter <= darker - strength else darker


def _heatmap(comparison: dict[str, Any]) -> dict[str, Any]:
    """Geometry of the migration heatmap: one cell per (old, new) segment pair, darker for more customers."""
    matrix = comparison["migration_matrix"]
    rows, cols = comparison["old_segments"], comparison["new_segments"]
    biggest = max((value for row in matrix for value in row), default=0) or 1
    cells = []
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            # The count is written in whichever text colour contrasts more with its cell.
            fill = _heatmap_fill(_legible_strength(value / biggest))
            cells.append(
                {
                    "x": HEATMAP_LABEL + j * HEATMAP_CELL,
                    "y": HEATMAP_LABEL + i * HEATMAP_CELL,
                    "value": value,
                    "fill": fill,
                    "dark": contrast_ratio(HEATMAP_ON_DARK, fill) > contrast_ratio(HEATMAP_INK, fill),
                    "title": f"{value} customers: {rows[i]['name']} → {cols[j]['name']}",
                }
            )
    return {
        "cell": HEATMAP_CELL,
        "label": HEATMAP_LABEL,
        "width": HEATMAP_LABEL + len(cols) * HEATMAP_CELL + 4,
        "height": HEATMAP_LABEL + len(rows) * HEATMAP_CELL + 4,
        "rows": [{"y": HEATMAP_LABEL + i * HEATMAP_CELL, "id": s["segment_id"]} for i, s in enumerate(rows)],
        "cols": [{"x": HEATMAP_LABEL + j * HEATMAP_CELL, "id": s["segment_id"]} for j, s in enumerate(cols)],
        "cells": cells,
    }


def _rollback_offer(registry: ModelRegistry) -> dict[str, str]:
    """The version the rollback button would activate, or why there is none (the page then shows no button)."""
    try:
        return {"to": registry.store.rollback_target()}
    except SegmentationError as exc:
        return {"unavailable": exc.message}


def models_page(registry: ModelRegistry, *, compare: str | None, with_version: str | None) -> dict[str, Any]:
    """The versions list, and a comparison of two of them when asked."""
    from app.services import lifecycle

    listing = lifecycle.list_versions(registry=registry)
    context: dict[str, Any] = {
        "active": "models",
        "listing": listing,
        "history": list(reversed(lifecycle.history(registry=registry)["entries"]))[:10],
        "rollback": _rollback_offer(registry),
        "compare": compare,
        "with_version": with_version or "active",
        "comparison": None,
        "heatmap": None,
        "compare_error": None,
    }
    if compare:
        try:
            comparison = lifecycle.compare(registry=registry, version=compare, with_version=with_version or "active")
        except SegmentationError as exc:
            context["compare_error"] = exc.message
        else:
            context["comparison"] = comparison
            context["heatmap"] = _heatmap(comparison)
    return context
