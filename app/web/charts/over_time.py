"""Geometry of the monitoring page's charts over time, from the timeseries service's answer: segment mix as stacked
bars, volumes and rates as lines, and one status strip per drift check."""

import math
from typing import Any

from app.models.model import SegmentationModel
from app.utils.scales import LinearScale, covering_ticks
from app.web.charts.monitoring import DIGIT_EM, TICK_FONT_UNITS, VOLUME_SIZE, time_ticks
from app.web.charts.styles import SegmentStyle

# Tick labels per bucket size; hours name their day too when the range spans several days.
TIME_FORMATS = {"hour": "%H:%M", "day": "%d %b", "week": "%d %b"}
# Every strip row is this tall, its label above it, spaced for text of 16 units (a phone's size).
STRIP_ROW = 44
# The drift checks in the order the drift table lists them; features ("feature:<name>") come first.
FIXED_CHECKS = {"segment_mix": "Segment mix", "atypical": "Atypical rate", "out_of_range": "Out-of-range rate"}
STATUS_CLASSES = {"stable": "stable", "watch": "watch", "drift": "drift", "insufficient data": "insufficient-data"}


def _frame(series: list[dict[str, Any]], bucket: str, labels: list[str]) -> dict[str, Any]:
    """Plot box, one band per bucket and about four time labels (the latest always labelled)."""
    width, height = VOLUME_SIZE
    right, top, bottom = 28, 14, 40
    left = max(44, math.ceil(max(len(label) for label in labels) * DIGIT_EM * TICK_FONT_UNITS) + 10)
    band = (width - left - right) / len(series)
    x_ticks = time_ticks(series, TIME_FORMATS[bucket], at=lambda i: left + (i + 0.5) * band, width=width)
    return {
        "width": width,
        "height": height,
        "band": band,
        "plot": {"left": left, "right": width - right, "top": top, "bottom": height - bottom},
        "x_ticks": x_ticks,
    }


def _center(frame: dict[str, Any], i: int) -> float:
    return round(frame["plot"]["left"] + (i + 0.5) * frame["band"], 2)


def mix_over_time(timeseries: dict[str, Any], styles: dict[int, SegmentStyle]) -> dict[str, Any] | None:
    """Each bucket's customers as one bar of 100%, stacked by segment; None when no bucket has a customer."""
    series = timeseries["series"]
    if not any(point["customers"] for point in series):
        return None
    ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
    labels = [f"{t:.0%}" for t in ticks]
    frame = _frame(series, timeseries["bucket"], labels)
    plot = frame["plot"]
    y = LinearScale(0, 1, plot["bottom"], plot["top"])
    bar = round(max(frame["band"] * 0.8, 1.0), 2)
    bars = []
    for i, point in enumerate(series):
        size = point["customers"]
        if not size:
            continue
        rects, share_below = [], 0.0
        for segment in timeseries["segments"]:
            count = point["counts"].get(str(segment["segment_id"]), 0)
            if not count:
                continue
            share = count / size
            top, base = y(share_below + share), y(share_below)
            rects.append(
                {
                    "segment": segment,
                    "style": styles.get(segment["segment_id"]),
                    "y": round(top, 2),
                    "height": round(base - top, 2),
                    "share": share,
                    "count": count,
                }
            )
            share_below += share
        bars.append({"start": point["start"], "x": round(_center(frame, i) - bar / 2, 2), "rects": rects})
    totals = {
        segment["segment_id"]: sum(point["counts"].get(str(segment["segment_id"]), 0) for point in series)
        for segment in timeseries["segments"]
    }
    everyone = sum(totals.values()) or 1
    legend = [
        {"segment": s, "style": styles.get(s["segment_id"]), "share": totals[s["segment_id"]] / everyone}
        for s in timeseries["segments"]
    ]
    y_ticks = [{"label": label, "px": round(y(t), 2)} for t, label in zip(ticks, labels, strict=True)]
    return frame | {"y_ticks": y_ticks, "bar": bar, "bars": bars, "legend": legend}


def _lines(frame: dict[str, Any], series: list[dict[str, Any]], keys: list[str], y: LinearScale) -> list[dict]:
    """One line per key, broken where a bucket has no value (a rate with no customers)."""
    lines = []
    for key in keys:
        runs: list[list[dict[str, float]]] = [[]]
        for i, point in enumerate(series):
            value = point[key]
            if value is None:
                if runs[-1]:
                    runs.append([])
                continue
            runs[-1].append({"x": _center(frame, i), "y": round(y(value), 2), "value": value})
        lines.append({"key": key, "runs": [run for run in runs if run]})
    return lines


def volume_over_time(timeseries: dict[str, Any]) -> dict[str, Any] | None:
    """Predictions and distinct customers per bucket as two lines; None when nothing was logged."""
    series = timeseries["series"]
    if not any(point["predictions"] for point in series):
        return None
    peak = max(point["predictions"] for point in series)
    ticks = covering_ticks(0, max(peak, 4), 4)
    labels = [f"{int(t):,}" for t in ticks]
    frame = _frame(series, timeseries["bucket"], labels)
    y = LinearScale(0, ticks[-1], frame["plot"]["bottom"], frame["plot"]["top"])
    y_ticks = [{"label": label, "px": round(y(t), 2)} for t, label in zip(ticks, labels, strict=True)]
    totals = {key: sum(point[key] for point in series) for key in ("predictions", "customers")}
    lines = _lines(frame, series, ["predictions", "customers"], y)
    return frame | {"y_ticks": y_ticks, "lines": lines, "totals": totals}


def rates_over_time(timeseries: dict[str, Any]) -> dict[str, Any] | None:
    """Atypical and out-of-range rates per bucket as two lines; None when no bucket has a customer."""
    series = timeseries["series"]
    values = [point[key] for point in series for key in ("atypical_rate", "out_of_range_rate")]
    if all(value is None for value in values):
        return None
    peak = max(value for value in values if value is not None)
    ticks = covering_ticks(0, max(peak, 0.04), 4)
    labels = [f"{round(t * 100, 6):g}%" for t in ticks]
    frame = _frame(series, timeseries["bucket"], labels)
    y = LinearScale(0, ticks[-1], frame["plot"]["bottom"], frame["plot"]["top"])
    y_ticks = [{"label": label, "px": round(y(t), 2)} for t, label in zip(ticks, labels, strict=True)]
    lines = _lines(frame, series, ["atypical_rate", "out_of_range_rate"], y)
    return frame | {"y_ticks": y_ticks, "lines": lines}


def check_labels(model: SegmentationModel) -> dict[str, str]:
    """Each drift check's name as the drift table shows it: the model's feature labels, then the fixed checks."""
    return {f"feature:{feature.name}": feature.label for feature in model.feature_specs} | FIXED_CHECKS


def drift_strips(timeseries: dict[str, Any], labels: dict[str, str]) -> dict[str, Any] | None:
    """One row per check (the overall status first), one cell per bucket with its stored status; None when no
    evaluation was stored in the range."""
    series = timeseries["series"]
    stored = [point["drift"] for point in series]
    if all(evaluation is None for evaluation in stored):
        return None
    seen = {name for evaluation in stored if evaluation for name in evaluation["checks"]} - {"overall"}
    names = [name for name in labels if name in seen] + sorted(seen - set(labels))
    rows = [("overall", "Overall")] + [(name, labels.get(name, name)) for name in names]
    width = VOLUME_SIZE[0]
    left, right = 8, 8
    # Cells span the width, as the other charts' buckets do, so their time labels are as far apart.
    cell = (width - left - right) / len(series)
    strips = []
    for r, (name, label) in enumerate(rows):
        y0 = r * STRIP_ROW
        cells = []
        for i, evaluation in enumerate(stored):
            if evaluation is None:
                continue
            status = evaluation["status"] if name == "overall" else evaluation["checks"].get(name)
            if status is None:
                continue
            cells.append(
                {
                    "x": round(left + i * cell, 2),
                    "start": series[i]["start"],
                    "status": status,
                    "css": STATUS_CLASSES.get(status, "insufficient-data"),
                }
            )
        strips.append({"check": name, "label": label, "label_y": y0 + 14, "cell_y": y0 + 20, "cells": cells})
    frame = {"start": series[0]["start"], "end": series[-1]["start"]}
    x_ticks = time_ticks(series, TIME_FORMATS[timeseries["bucket"]], at=lambda i: left + (i + 0.5) * cell, width=width)
    return {
        "width": width,
        "height": len(rows) * STRIP_ROW + 24,
        "axis_y": len(rows) * STRIP_ROW + 14,
        "x_ticks": x_ticks,
        "cell": round(cell, 2),
        "cell_height": 18,
        "left": left,
        "strips": strips,
        "range": frame,
        "evaluations": [
            {"start": point["start"], "drift": point["drift"]} for point in series if point["drift"] is not None
        ],
        "columns": rows,
    }
