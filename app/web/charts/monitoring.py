"""Geometry of the monitoring page's SVG charts: volume per segment over time, feature histograms, segment mix."""

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.utils.scales import LinearScale, covering_ticks
from app.web.charts.styles import SegmentStyle

# Narrow view boxes keep chart text readable when a phone scales them to 375 px.
VOLUME_SIZE = (420, 240)
# The volume chart's left margin holds its longest count: drawn at up to 16 units (the phone size of
# `.chart-medium` in app.css), where a digit is at most 0.64 em wide (DejaVu Sans).
TICK_FONT_UNITS = 16
DIGIT_EM = 0.64
HISTOGRAM_SIZE = (360, 220)
# Histogram tick labels are drawn at up to 14 units (`.histogram .chart` on a phone).
HISTOGRAM_FONT_UNITS = 14
# Each mix row: the name, then two bars with their values; spaced for text of 16 units (a phone's size).
MIX_ROW_HEIGHT = 62
MIX_BAR_HEIGHT = 12


def volume_chart(volume: dict[str, Any], styles: dict[int, SegmentStyle]) -> dict[str, Any] | None:
    """One line per segment: predictions per hour or day; None when nothing was logged in the range."""
    if volume["total"] == 0:
        return None
    width, height = VOLUME_SIZE
    series = volume["series"]
    peak = max(max(point["counts"].values(), default=0) for point in series)
    # Counts are whole: at least 4 keeps the steps whole; the top tick is at or above the highest point.
    ticks = covering_ticks(0, max(peak, 4), 4)
    labels = [f"{int(t):,}" for t in ticks]
    right, top, bottom = 28, 14, 40
    left = max(44, math.ceil(max(len(label) for label in labels) * DIGIT_EM * TICK_FONT_UNITS) + 10)
    x = LinearScale(0, max(len(series) - 1, 1), left, width - right)
    y = LinearScale(0, ticks[-1], height - bottom, top)
    fmt = "%H:%M" if volume["bucket"] == "hour" else "%d %b"
    lines = []
    for segment in volume["segments"]:
        key = str(segment["segment_id"])
        style = styles.get(segment["segment_id"])
        points = [
            {"x": round(x(i), 2), "y": round(y(point["counts"][key]), 2), "count": point["counts"][key]}
            for i, point in enumerate(series)
        ]
        lines.append({"segment": segment, "style": style, "points": points, "total": sum(p["count"] for p in points)})
    return {
        "width": width,
        "height": height,
        "plot": {"left": left, "right": width - right, "top": top, "bottom": height - bottom},
        "y_ticks": [{"value": t, "label": label, "px": round(y(t), 2)} for t, label in zip(ticks, labels, strict=True)],
        "x_ticks": time_ticks(series, fmt, at=x, width=width),
        "lines": lines,
        "bucket": volume["bucket"],
    }


def time_ticks(
    series: list[dict[str, Any]], fmt: str, *, at: Callable[[int], float], width: float
) -> list[dict[str, Any]]:
    """About four time labels, counted back from the latest bucket so that it is always labelled (five overlapped on
    a phone for a day of 25 hourly buckets); each centred on its bucket's x (`at`) unless that would run it past the
    chart's edge: then it runs inwards from there."""
    every = max(1, math.ceil(len(series) / 4))
    ticks = []
    for i, point in enumerate(series):
        if (len(series) - 1 - i) % every:
            continue
        label = datetime.fromisoformat(point["start"]).strftime(fmt)
        px = round(at(i), 2)
        half = len(label) * DIGIT_EM * TICK_FONT_UNITS / 2
        anchor = "end" if px + half > width else "start" if px - half < 0 else "middle"
        ticks.append({"label": label, "px": px, "anchor": anchor})
    return ticks


def histogram_chart(check: dict[str, Any]) -> dict[str, Any]:
    """Reference and current shares side by side in each of the reference's decile bins."""
    width, height = HISTOGRAM_SIZE
    histogram = check["histogram"]
    reference, current = histogram["reference"], histogram["current"]
    n = len(reference)
    peak = max(*reference, *current, 0.01)
    # The top tick is at or above the tallest bar, so no bar rises past the top gridline.
    ticks = covering_ticks(0, peak, 3)
    labels = [f"{round(t * 100, 6):g}%" for t in ticks]
    right, top, bottom = 8, 12, 44
    left = max(40, math.ceil(max(len(label) for label in labels) * DIGIT_EM * HISTOGRAM_FONT_UNITS) + 8)
    y = LinearScale(0, ticks[-1], height - bottom, top)
    slot = (width - left - right) / n
    bar = slot * 0.38
    # Interior edges label the boundaries between bins; ties in the deciles merge bins, so use the stored order.
    edges = sorted(set(histogram["edges"][1:-1]))
    bins = []
    for i in range(n):
        x0 = left + i * slot
        bins.append(
            {
                "reference": {"x": round(x0 + slot * 0.1, 2), "y": round(y(reference[i]), 2), "share": reference[i]},
                "current": {"x": round(x0 + slot * 0.1 + bar, 2), "y": round(y(current[i]), 2), "share": current[i]},
                "label": _bin_label(edges, i),
            }
        )
    return {
        "id": f"hist-{check['feature']}",
        "feature": check["feature"],
        "label": check["label"],
        "width": width,
        "height": height,
        "bar": round(bar, 2),
        "base": round(y(0), 2),
        "plot": {"left": left, "right": width - right, "top": top, "bottom": height - bottom},
        "y_ticks": [{"value": t, "label": label, "px": round(y(t), 2)} for t, label in zip(ticks, labels, strict=True)],
        "x_ticks": [{"label": f"{edge:g}", "px": round(left + (i + 1) * slot, 2)} for i, edge in enumerate(edges)],
        "bins": bins,
    }


def _bin_label(edges: list[float], i: int) -> str:
    if i == 0:
        return f"below {edges[0]:g}" if edges else "all"
    if i >= len(edges):
        return f"{edges[-1]:g} and above"
    return f"{edges[i - 1]:g} to {edges[i]:g}"


def mix_chart(mix: dict[str, Any], styles: dict[int, SegmentStyle]) -> dict[str, Any]:
    """Training and recent share of every segment as paired horizontal bars."""
    width = VOLUME_SIZE[0]
    left, right, top = 8, 124, 8
    rows = mix["segments"]
    peak = max(max(row["training_share"], row["current_share"]) for row in rows) or 1.0
    x = LinearScale(0, peak, left, width - right)
    bars = []
    for i, row in enumerate(rows):
        y0 = top + i * MIX_ROW_HEIGHT
        bars.append(
            {
                "row": row,
                "style": styles.get(row["segment_id"]),
                "label_y": y0 + 13,
                "training": {"y": y0 + 22, "width": round(x(row["training_share"]) - left, 2)},
                "current": {"y": y0 + 40, "width": round(x(row["current_share"]) - left, 2)},
            }
        )
    height = top + len(rows) * MIX_ROW_HEIGHT
    return {"width": width, "height": height, "left": left, "bar_height": MIX_BAR_HEIGHT, "bars": bars}
