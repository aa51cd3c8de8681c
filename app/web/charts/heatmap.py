"""The migration heatmap of a version comparison: one cell per (old, new) segment pair, named rows and columns.

The SVG is drawn at one unit per CSS pixel (never scaled to its box), so its text is HEATMAP_FONT pixels on every
screen; the page scrolls it sideways when it is wider than a phone.
"""

import math
import textwrap
from typing import Any

from app.utils.colour import AA_TEXT, contrast_ratio

HEATMAP_CELL = 32
# Text size in pixels (the stylesheet's `.chart.heatmap` font-size), and the distance between wrapped lines.
HEATMAP_FONT = 12
HEATMAP_LINE = 15
# A generous average glyph width: DejaVu Sans, among the widest system fonts, averages 0.52-0.58 em on names.
CHAR_EM = 0.62
# Row names wrap into lines of this many characters, column names (drawn upright) into longer ones.
ROW_CHARS, COLUMN_CHARS = 13, 18
PAD = 8
# What fits a 375 px phone inside the page's card: wider charts show a cue that they scroll sideways.
PHONE_WIDTH = 300
# The two text colours a heatmap cell can take: the stylesheet's --ink and white (`.heatmap text.on-dark`).
HEATMAP_INK, HEATMAP_ON_DARK = "#17202e", "#ffffff"
CORNER = ("after →", "before ↓")


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


def text_width(text: str) -> float:
    """An upper estimate of the drawn width of `text` in pixels."""
    return len(text) * CHAR_EM * HEATMAP_FONT


def name_lines(name: str, width: int) -> list[str]:
    """A segment name in lines of at most `width` characters, broken after its ' · ' parts first."""
    lines: list[str] = []
    for part in name.split(" · "):
        joined = f"{lines[-1]} · {part}" if lines else part
        if lines and len(joined) <= width:
            lines[-1] = joined
        else:
            if lines:
                lines[-1] += " ·"
            lines.extend(textwrap.wrap(part, width, break_long_words=False) or [part])
    return lines


def _offsets(count: int) -> list[float]:
    """Offsets of `count` wrapped lines around their centre."""
    return [(i - (count - 1) / 2) * HEATMAP_LINE for i in range(count)]


def heatmap_chart(comparison: dict[str, Any]) -> dict[str, Any]:
    """Geometry of the migration heatmap: named rows (before) and columns (after), darker for more customers."""
    matrix = comparison["migration_matrix"]
    olds, news = comparison["old_segments"], comparison["new_segments"]
    row_names = [name_lines(s["name"], ROW_CHARS) for s in olds]
    col_names = [name_lines(s["name"], COLUMN_CHARS) for s in news]
    # Rows and columns grow past a cell only for names that wrap into more lines than a cell holds.
    heights = [max(HEATMAP_CELL, len(lines) * HEATMAP_LINE + 2) for lines in row_names]
    widths = [max(HEATMAP_CELL, len(lines) * HEATMAP_LINE + 2) for lines in col_names]
    # Row names (and the corner's words) take the left band; upright column names and the corner's two lines, the top.
    left = math.ceil(PAD + max(text_width(line) for line in [*CORNER, *(ln for lines in row_names for ln in lines)]))
    top = math.ceil(PAD + max(2 * HEATMAP_LINE + 4, *(text_width(line) for lines in col_names for line in lines)))
    ys = [top + sum(heights[:i]) for i in range(len(olds))]
    xs = [left + sum(widths[:j]) for j in range(len(news))]
    biggest = max((value for row in matrix for value in row), default=0) or 1
    cells = []
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            # The count is written in whichever text colour contrasts more with its cell.
            fill = _heatmap_fill(_legible_strength(value / biggest))
            cells.append(
                {
                    "x": xs[j],
                    "y": ys[i],
                    "width": widths[j] - 2,
                    "height": heights[i] - 2,
                    "cx": xs[j] + (widths[j] - 2) / 2,
                    "cy": ys[i] + (heights[i] - 2) / 2,
                    "value": value,
                    "fill": fill,
                    "dark": contrast_ratio(HEATMAP_ON_DARK, fill) > contrast_ratio(HEATMAP_INK, fill),
                    "title": f"{value} customers: {olds[i]['name']} → {news[j]['name']}",
                }
            )
    width = left + sum(widths) + 2
    return {
        "width": width,
        "height": top + sum(heights) + 2,
        "left": left,
        "top": top,
        "wide": width > PHONE_WIDTH,
        # "after →" points at the column names, "before ↓" (under it) at the row names.
        "corner": [{"text": CORNER[0], "y": top - PAD - HEATMAP_LINE}, {"text": CORNER[1], "y": top - PAD}],
        "rows": [
            {
                "segment_id": s["segment_id"],
                "name": s["name"],
                "lines": [
                    {"text": line, "y": round(ys[i] + (heights[i] - 2) / 2 + offset, 2)}
                    for line, offset in zip(row_names[i], _offsets(len(row_names[i])), strict=True)
                ],
            }
            for i, s in enumerate(olds)
        ],
        "cols": [
            {
                "segment_id": s["segment_id"],
                "name": s["name"],
                "lines": [
                    {"text": line, "x": round(xs[j] + (widths[j] - 2) / 2 + offset, 2)}
                    for line, offset in zip(col_names[j], _offsets(len(col_names[j])), strict=True)
                ],
            }
            for j, s in enumerate(news)
        ],
        "cells": cells,
        "flows": [cell["title"] for cell in cells if cell["value"]],
    }
