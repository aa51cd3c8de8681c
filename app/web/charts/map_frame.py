"""What every segment map shares: the plot frame, axis ticks and labels, customer dots, centroids and the legend."""

from collections.abc import Sequence
from typing import Any

import numpy as np

from app.models.features import Feature
from app.models.model import SegmentationModel
from app.utils.scales import LinearScale, nice_ticks
from app.web.charts.styles import SegmentStyle

# Margins leave room for tick labels at twice the desktop size: phones scale the chart down and the stylesheet
# scales its text up, so tick labels stay readable (at least 11 px) on a 375 px screen.
LEFT, RIGHT, TOP, BOTTOM = 84, 28, 16, 72
WIDTH, HEIGHT = 640, 460
# Data beyond the training range by this share of its span still fits on a feature's axis.
PADDING = 0.05


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """Tick texts short enough for an axis: whole numbers as they are, thousands as "150k", else fixed decimals."""
    if not ticks:
        return []
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    if all(float(t).is_integer() for t in ticks):
        if max(abs(t) for t in ticks) >= 10_000 and all(t % 1000 == 0 for t in ticks):
            return [f"{t / 1000:,.0f}k".replace("-", "−") for t in ticks]
        return [f"{t:,.0f}".replace("-", "−") for t in ticks]
    # As many decimals as the step needs: 0.5 steps print one, 0.25 steps two.
    decimals = next((d for d in range(1, 6) if abs(round(step, d) - step) < 1e-9), 6)
    return [f"{t:.{decimals}f}".replace("-", "−") for t in ticks]


def frame(
    x_domain: tuple[float, float], y_domain: tuple[float, float], *, width: int = WIDTH, height: int = HEIGHT
) -> dict[str, Any]:
    """The plot box, the data domain and labelled ticks of a map."""
    (x_min, x_max), (y_min, y_max) = x_domain, y_domain
    x = LinearScale(x_min, x_max, LEFT, width - RIGHT)
    y = LinearScale(y_min, y_max, height - BOTTOM, TOP)
    x_ticks, y_ticks = nice_ticks(x_min, x_max, 6), nice_ticks(y_min, y_max, 5)
    return {
        "width": width,
        "height": height,
        "plot": {"left": LEFT, "right": width - RIGHT, "top": TOP, "bottom": height - BOTTOM},
        "domain": {"x_min": x_min, "x_max": x_max, "y_min": y_min, "y_max": y_max},
        "x_ticks": [
            {"value": t, "px": round(x(t), 2), "label": text}
            for t, text in zip(x_ticks, tick_labels(x_ticks), strict=True)
        ],
        "y_ticks": [
            {"value": t, "px": round(y(t), 2), "label": text}
            for t, text in zip(y_ticks, tick_labels(y_ticks), strict=True)
        ],
    }


def scales(chart: dict[str, Any]) -> tuple[LinearScale, LinearScale]:
    """Data to pixels on a map's two axes."""
    domain, plot = chart["domain"], chart["plot"]
    return (
        LinearScale(domain["x_min"], domain["x_max"], plot["left"], plot["right"]),
        LinearScale(domain["y_min"], domain["y_max"], plot["bottom"], plot["top"]),
    )


def feature_domain(model: SegmentationModel, feature: Feature) -> tuple[float, float]:
    """An axis for one feature: its training range, padded a little, never beyond the values it accepts."""
    stats = (model.info.get("data_stats") or {}).get(feature.name) or {}
    low, high = float(stats.get("min", 0.0)), float(stats.get("max", 1.0))
    pad = (high - low) * PADDING or max(abs(high), 1.0) * PADDING
    low, high = max(low - pad, feature.minimum), min(high + pad, feature.maximum)
    return (low, high) if high > low else (low - 1.0, high + 1.0)


def axis_label(feature: Feature) -> str:
    """A feature's axis title: "Income ($)"."""
    return f"{feature.label} ({feature.unit})" if feature.unit else feature.label


def dots(chart: dict[str, Any], xy: np.ndarray, positions: Sequence[int], styles: list[SegmentStyle]) -> list[dict]:
    """Customer markers at data positions xy (n, 2), clamped to the plot, styled by segment position."""
    x, y = scales(chart)
    domain = chart["domain"]
    points = []
    for (px, py), position in zip(np.asarray(xy, dtype=float).reshape(-1, 2).tolist(), positions, strict=True):
        px = min(max(px, domain["x_min"]), domain["x_max"])
        py = min(max(py, domain["y_min"]), domain["y_max"])
        points.append({"x": round(x(px), 2), "y": round(y(py), 2), "style": styles[int(position)]})
    return points


def centroid_marks(
    chart: dict[str, Any], model: SegmentationModel, xy: np.ndarray, styles: list[SegmentStyle]
) -> list[dict[str, Any]]:
    """One large marker per segment centroid at data positions xy (k, 2), in segment order."""
    x, y = scales(chart)
    return [
        {"x": round(x(px), 2), "y": round(y(py), 2), "style": style, "segment": segment}
        for (px, py), segment, style in zip(np.asarray(xy, dtype=float).tolist(), model.segments, styles, strict=True)
    ]


def legend(model: SegmentationModel, styles: list[SegmentStyle]) -> list[dict[str, Any]]:
    """One legend row per segment: its look and its training size."""
    return [{"style": style, "size": segment.size} for segment, style in zip(model.segments, styles, strict=True)]


def value_text(value: float, feature: Feature) -> str:
    """A value with its unit, for chart descriptions: "52,300 $", "4.2 per month"."""
    text = f"{value:,.1f}"
    text = text[:-2] if text.endswith(".0") else text
    return f"{text} {feature.short_unit}".strip()  # a scale's range ("1 to 100") is no unit after a number


def centre_description(model: SegmentationModel, features: Sequence[Feature]) -> str:
    """Where each segment's centre lies on the given features, as one sentence per segment."""
    return " ".join(
        f"{segment.name}: centre at "
        + ", ".join(f"{f.label.lower()} {value_text(segment.centroid[f.name], f)}" for f in features)
        + "."
        for segment in model.segments
    )


def regions_from_polygons(
    polygons: list[list[tuple[float, float]]], styles: list[SegmentStyle], to_x: Any, to_y: Any
) -> list[dict[str, Any]]:
    """One path per segment from its exact region (a polygon in data units, segment order), drawn with the scales."""
    return [
        {
            "path": "M" + "L".join(f"{to_x(px):.2f},{to_y(py):.2f}" for px, py in polygon) + "Z",
            "colour": style.colour,
            "segment_id": style.segment_id,
        }
        for polygon, style in zip(polygons, styles, strict=True)
        if len(polygon) >= 3
    ]


def regions_from_grid(
    chart: dict[str, Any], grid: np.ndarray, styles: list[SegmentStyle], cells: tuple[int, int]
) -> list[dict[str, Any]]:
    """One path per segment from a grid of segment positions (rows from the top), as runs of whole cells."""
    plot = chart["plot"]
    columns, rows = cells
    cell_w = (plot["right"] - plot["left"]) / columns
    cell_h = (plot["bottom"] - plot["top"]) / rows
    parts: dict[int, list[str]] = {}
    for r in range(rows):
        top = plot["top"] + r * cell_h
        row = grid[r]
        start = 0
        for c in range(1, columns + 1):
            if c == columns or row[c] != row[start]:
                left = plot["left"] + start * cell_w
                width = (c - start) * cell_w
                parts.setdefault(int(row[start]), []).append(
                    f"M{left:.2f},{top:.2f}h{width:.2f}v{cell_h:.2f}h{-width:.2f}Z"
                )
                start = c
    return [
        {"path": "".join(parts[position]), "colour": style.colour, "segment_id": style.segment_id}
        for position, style in enumerate(styles)
        if position in parts
    ]
