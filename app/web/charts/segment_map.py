"""The segment map: decision regions, customers and centroids on income x spending, as inline SVG geometry."""

import math
from typing import Any

import numpy as np

from app.models.model import SegmentationModel
from app.utils.scales import LinearScale, nice_ticks
from app.web.charts.styles import segment_styles

MAP_FEATURES = ["annual_income", "spending_score"]
MAP_DOMAIN = {"annual_income": (0.0, 150.0), "spending_score": (0.0, 100.0)}


def segment_map(model: SegmentationModel, *, width: int = 640, height: int = 460) -> dict[str, Any] | None:
    """Geometry of the income x spending map: decision regions, customers, centroids, axes; None for other features."""
    if model.features != MAP_FEATURES:
        return None
    # Margins leave room for tick labels at twice the desktop size: phones scale the chart down and the stylesheet
    # scales its text up, so tick labels stay readable (at least 11 px) on a 375 px screen.
    left, right, top, bottom = 84, 28, 16, 72
    (x_min, x_max), (y_min, y_max) = MAP_DOMAIN["annual_income"], MAP_DOMAIN["spending_score"]
    x_max = max(x_max, float(model.info["data_stats"]["annual_income"]["max"]))
    x = LinearScale(x_min, x_max, left, width - right)
    y = LinearScale(y_min, y_max, height - bottom, top)
    styles = segment_styles(model)
    regions = [
        {
            "path": "M" + "L".join(f"{x(px):.2f},{y(py):.2f}" for px, py in polygon) + "Z",
            "colour": style.colour,
            "segment_id": style.segment_id,
        }
        for polygon, style in zip(model.decision_regions((x_min, x_max), (y_min, y_max)), styles, strict=True)
        if len(polygon) >= 3
    ]

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
    return {
        "width": width,
        "height": height,
        "plot": {"left": left, "right": width - right, "top": top, "bottom": height - bottom},
        "domain": {"x_min": x_min, "x_max": x_max, "y_min": y_min, "y_max": y_max},
        "x_ticks": [{"value": t, "px": round(x(t), 2)} for t in nice_ticks(x_min, x_max, 6)],
        "y_ticks": [{"value": t, "px": round(y(t), 2)} for t in nice_ticks(y_min, y_max, 5)],
        "regions": regions,
        "points": points,
        "centroids": centroids,
        "legend": [
            {"style": style, "size": segment.size} for segment, style in zip(model.segments, styles, strict=True)
        ],
    }


def map_position(chart: dict[str, Any], annual_income: float, spending_score: float) -> dict[str, Any]:
    """Where a customer sits on the segment map, clamped to the plot (app.js does the same).

    `off_chart` is the direction, in degrees clockwise from pointing right, from the clamped marker towards the
    customer's real place when that lies outside the chart; None when the customer is on the chart.
    """
    domain, plot = chart["domain"], chart["plot"]
    income = min(max(annual_income, domain["x_min"]), domain["x_max"])
    score = min(max(spending_score, domain["y_min"]), domain["y_max"])
    x = LinearScale(domain["x_min"], domain["x_max"], plot["left"], plot["right"])
    y = LinearScale(domain["y_min"], domain["y_max"], plot["bottom"], plot["top"])
    dx = (annual_income > domain["x_max"]) - (annual_income < domain["x_min"])
    dy = (spending_score < domain["y_min"]) - (spending_score > domain["y_max"])  # screen y grows downwards
    off_chart = round(math.degrees(math.atan2(dy, dx))) if dx or dy else None
    return {"x": round(x(income), 2), "y": round(y(score), 2), "off_chart": off_chart}


def customer_points(chart: dict[str, Any], model: SegmentationModel, sample: list[tuple[float, float, int]]):
    """Map markers for a sample of scored customers: (income, spending, segment position) each."""
    styles = segment_styles(model)
    points = []
    for income, spending, position in sample:
        position_on_map = map_position(chart, income, spending)
        points.append({"x": position_on_map["x"], "y": position_on_map["y"], "style": styles[position]})
    return points
