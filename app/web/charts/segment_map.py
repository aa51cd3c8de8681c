"""The segment map: the income x spending decision map, a map of any two features, or the plane of 3+ features."""

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from app.models.model import SegmentationModel
from app.models.projection import Projection, place_customers
from app.utils.scales import LinearScale, nice_ticks
from app.web.charts.map_frame import regions_from_polygons
from app.web.charts.pair_map import pair_map
from app.web.charts.projection_map import projection_map
from app.web.charts.styles import segment_styles

MAP_FEATURES = ["annual_income", "spending_score"]
MAP_DOMAIN = {"annual_income": (0.0, 150.0), "spending_score": (0.0, 100.0)}
View = tuple[str, str]


def _is_decision_map(model: SegmentationModel) -> bool:
    """Whether a model gets today's income x spending map: exactly those two features, clustered as they are."""
    return model.features == MAP_FEATURES and not model.transformed


def default_view(model: SegmentationModel) -> View | None:
    """The pair a model's map shows when none is asked for: None for the plane (3+ features) or the decision map."""
    if len(model.features) < 2 or _is_decision_map(model):
        return None
    if len(model.features) >= 3 and Projection.of(model) is not None:
        return None
    return model.features[0], model.features[1]


def valid_view(model: SegmentationModel, x: str | None, y: str | None) -> View | None:
    """The pair asked for when both are distinct features of the model; else None (the model's usual map)."""
    if x in model.features and y in model.features and x != y:
        return x, y
    return None


def segment_map(
    model: SegmentationModel, view: View | None = None, *, width: int = 640, height: int = 460
) -> dict[str, Any] | None:
    """The map of a model: a pair of features when `view` names one, else its usual map; None below two features."""
    if len(model.features) < 2:
        return None
    view = view or default_view(model)
    if view is None:
        return decision_map(model, width=width, height=height) if _is_decision_map(model) else projection_map(model)
    if _is_decision_map(model) and list(view) == MAP_FEATURES:
        return decision_map(model, width=width, height=height)
    return pair_map(model, *view)


def decision_map(model: SegmentationModel, *, width: int = 640, height: int = 460) -> dict[str, Any]:
    """Geometry of the income x spending map: exact decision regions, customers, centroids and axes."""
    # Margins leave room for tick labels at twice the desktop size: phones scale the chart down and the stylesheet
    # scales its text up, so tick labels stay readable (at least 11 px) on a 375 px screen.
    left, right, top, bottom = 84, 28, 16, 72
    (x_min, x_max), (y_min, y_max) = MAP_DOMAIN["annual_income"], MAP_DOMAIN["spending_score"]
    x_max = max(x_max, float(model.info["data_stats"]["annual_income"]["max"]))
    x = LinearScale(x_min, x_max, left, width - right)
    y = LinearScale(y_min, y_max, height - bottom, top)
    styles = segment_styles(model)
    regions = regions_from_polygons(model.decision_regions((x_min, x_max), (y_min, y_max)), styles, x, y)

    sample = np.asarray(model.info.get("map_sample") or np.empty((0, 2)), dtype=float).reshape(-1, 2)
    positions = model.labels(sample) if len(sample) else np.empty(0, dtype=int)
    points = [
        {"x": round(x(px), 2), "y": round(y(py), 2), "style": styles[int(p)]}
        for (px, py), p in zip(sample.tolist(), positions.tolist(), strict=True)
    ]
    centroids = [
        {
            "x": round(x(segment.centroid["annual_income"]), 2),
            "y": round(y(segment.centroid["spending_score"]), 2),
            "style": style,
            "segment": segment,
        }
        for segment, style in zip(model.segments, styles, strict=True)
    ]
    x_ticks, y_ticks = nice_ticks(x_min, x_max, 6), nice_ticks(y_min, y_max, 5)
    return {
        "kind": "decision",
        "title": "Customers by annual income and spending score, coloured by segment",
        "desc": "".join(
            f"{segment.name}: centre at income {round(segment.centroid['annual_income'], 1)} k$, "
            f"spending {round(segment.centroid['spending_score'], 1)}. "
            for segment in model.segments
        ),
        "x_label": "Annual income (k$)",
        "y_label": "Spending score (1-100)",
        "axes": [],
        "placement": None,
        "x_feature": "annual_income",
        "y_feature": "spending_score",
        "width": width,
        "height": height,
        "plot": {"left": left, "right": width - right, "top": top, "bottom": height - bottom},
        "domain": {"x_min": x_min, "x_max": x_max, "y_min": y_min, "y_max": y_max},
        "x_ticks": [{"value": t, "px": round(x(t), 2), "label": str(int(t))} for t in x_ticks],
        "y_ticks": [{"value": t, "px": round(y(t), 2), "label": str(int(t))} for t in y_ticks],
        "regions": regions,
        "points": points,
        "centroids": centroids,
        "legend": [
            {"style": style, "size": segment.size} for segment, style in zip(model.segments, styles, strict=True)
        ],
    }


def map_position(chart: dict[str, Any], x_value: float, y_value: float) -> dict[str, Any]:
    """Where a point (in the map's data units) sits on the segment map, clamped to the plot (app.js does the same).

    `off_chart` is the direction, in degrees clockwise from pointing right, from the clamped marker towards the
    customer's real place when that lies outside the chart; None when the customer is on the chart.
    """
    domain, plot = chart["domain"], chart["plot"]
    x_value, y_value = float(x_value), float(y_value)
    clamped_x = min(max(x_value, domain["x_min"]), domain["x_max"])
    clamped_y = min(max(y_value, domain["y_min"]), domain["y_max"])
    x = LinearScale(domain["x_min"], domain["x_max"], plot["left"], plot["right"])
    y = LinearScale(domain["y_min"], domain["y_max"], plot["bottom"], plot["top"])
    dx = (x_value > domain["x_max"]) - (x_value < domain["x_min"])
    dy = (y_value < domain["y_min"]) - (y_value > domain["y_max"])  # screen y grows downwards
    off_chart = round(math.degrees(math.atan2(dy, dx))) if dx or dy else None
    return {"x": round(x(clamped_x), 2), "y": round(y(clamped_y), 2), "off_chart": off_chart}


def place_on_map(chart: dict[str, Any], model: SegmentationModel, values: Mapping[str, float]) -> dict[str, Any]:
    """Where a customer (feature values in their own units) sits on a map of `model`, as `map_position` says."""
    if chart["kind"] == "projection":
        row = [[float(values[name]) for name in model.features]]
        placed = place_customers(model, np.asarray(row))[0]
        return map_position(chart, float(placed[0]), float(placed[1]))
    return map_position(chart, float(values[chart["x_feature"]]), float(values[chart["y_feature"]]))


def customer_points(chart: dict[str, Any], model: SegmentationModel, sample: Sequence[Sequence[float]]):
    """Map markers for a sample of scored customers: each the model's feature values, then its segment position."""
    styles = segment_styles(model)
    points = []
    for *values, position in sample:
        placed = place_on_map(chart, model, dict(zip(model.features, values, strict=True)))
        points.append({"x": placed["x"], "y": placed["y"], "style": styles[int(position)]})
    return points
