"""The migration heatmap of a version comparison: one cell per (old, new) segment pair, legible at AA contrast."""

from typing import Any

from app.utils.colour import AA_TEXT, contrast_ratio

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


def heatmap_chart(comparison: dict[str, Any]) -> dict[str, Any]:
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
