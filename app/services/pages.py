"""What the home and about pages show, assembled from the same services the API uses."""

from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from app.core.errors import SegmentationError
from app.models.features import FEATURES
from app.models.model import SegmentationModel
from app.models.registry import ModelRegistry
from app.schemas.prediction import CustomerIn, CustomerValidator
from app.services import charts, prediction, segments

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
        try:
            numbers[field] = float(text)
        except ValueError:
            errors[field] = f"'{text[:20]}' is not a number."
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


def home_page(registry: ModelRegistry, values: dict[str, str | None]) -> dict[str, Any]:
    """Context for the home page: the form, its result or errors, and the segment map."""
    submitted = any(values.get(field) is not None for field in DEFAULT_CUSTOMER)
    form = {field: (values.get(field) if submitted else DEFAULT_CUSTOMER[field]) or "" for field in DEFAULT_CUSTOMER}
    context: dict[str, Any] = {
        "fields": FORM_FIELDS,
        "form": form,
        "errors": {},
        "result": None,
        "model": registry.active,
        "reason": registry.reason,
    }
    if registry.active is None:
        return context
    model = registry.active
    customer, errors = parse_customer(form)
    context["errors"] = errors
    context.update(_segment_context(model))
    if customer is not None:
        context["result"] = prediction.predict_customer(model, customer)
        if context["segment_map"]:
            context["marker_x"], context["marker_y"] = charts.map_position(
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
        "segments": [{**stats, **info} for stats, info in zip(statistics, descriptions, strict=True)],
        "curl_example": (
            f"curl -s -X POST {base_url}/api/v1/predict -H 'Content-Type: application/json' "
            '-d \'{"annual_income": 120, "spending_score": 90}\''
        ),
        "styles": _segment_context(model)["styles"],
    }


HEATMAP_CELL = 30
HEATMAP_LABEL = 40


def _heatmap(comparison: dict[str, Any]) -> dict[str, Any]:
    """Geometry of the migration heatmap: one cell per (old, new) segment pair, darker for more customers."""
    matrix = comparison["migration_matrix"]
    rows, cols = comparison["old_segments"], comparison["new_segments"]
    biggest = max((value for row in matrix for value in row), default=0) or 1
    cells = []
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            strength = value / biggest
            cells.append(
                {
                    "x": HEATMAP_LABEL + j * HEATMAP_CELL,
                    "y": HEATMAP_LABEL + i * HEATMAP_CELL,
                    "value": value,
                    # Blue ramp from near-white; text turns white on dark cells for contrast.
                    "fill": f"rgb({int(240 - 229 * strength)},{int(245 - 158 * strength)},{int(250 - 86 * strength)})",
                    "dark": strength > 0.5,
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


def models_page(registry: ModelRegistry, *, compare: str | None, with_version: str | None) -> dict[str, Any]:
    """The versions list, and a comparison of two of them when asked."""
    from app.services import lifecycle

    listing = lifecycle.list_versions(registry=registry)
    context: dict[str, Any] = {
        "active": "models",
        "listing": listing,
        "history": list(reversed(lifecycle.history(registry=registry)["entries"]))[:10],
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
