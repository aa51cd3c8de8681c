"""The migration heatmap's geometry: named rows and columns, every label inside the chart, drawn at its own size."""

import re

import pytest

from app.core.config import PROJECT_ROOT
from app.web.charts.heatmap import (
    HEATMAP_CELL,
    HEATMAP_FONT,
    HEATMAP_LINE,
    PAD,
    PHONE_WIDTH,
    heatmap_chart,
    name_lines,
    text_width,
)

CSS = (PROJECT_ROOT / "app" / "static" / "css" / "app.css").read_text()
NAMES = ["Average Customer", "VIP / Whale", "Young Trendsetter", "High Earner Saver", "Budget Conscious"]


def comparison(old: list[str], new: list[str]) -> dict:
    return {
        "old_segments": [{"segment_id": i, "name": name} for i, name in enumerate(old)],
        "new_segments": [{"segment_id": 10 + j, "name": name} for j, name in enumerate(new)],
        "migration_matrix": [[(i + 2 * j) % 7 for j in range(len(new))] for i in range(len(old))],
    }


@pytest.mark.parametrize(
    ("name", "lines"),
    [
        ("VIP / Whale", ["VIP / Whale"]),
        ("Average Customer", ["Average", "Customer"]),
        ("High Income · High Spending", ["High Income ·", "High Spending"]),
    ],
)
def test_row_names_wrap_at_words_and_after_their_parts(name, lines):
    assert name_lines(name, 13) == lines


def test_rows_and_columns_are_named_and_every_label_fits_its_band():
    long = "Moderate Income · Moderate Spending · Moderate Age"
    chart = heatmap_chart(comparison([*NAMES, long], [*NAMES, "High Income · High Spending"]))
    assert [row["name"] for row in chart["rows"]] == [*NAMES, long]
    assert " ".join(line["text"] for line in chart["cols"][-1]["lines"]) == "High Income · High Spending"
    for row in chart["rows"]:
        assert all(text_width(line["text"]) <= chart["left"] - PAD for line in row["lines"]), row
    for col in chart["cols"]:
        assert all(text_width(line["text"]) <= chart["top"] - PAD for line in col["lines"]), col
    assert all(text_width(corner["text"]) <= chart["left"] - PAD and corner["y"] > 0 for corner in chart["corner"])
    # Cells tile the area right of and below the labels, and nothing runs past the chart's edges.
    cells = chart["cells"]
    assert min(c["x"] for c in cells) == chart["left"] and min(c["y"] for c in cells) == chart["top"]
    assert max(c["x"] + c["width"] for c in cells) <= chart["width"]
    assert max(c["y"] + c["height"] for c in cells) <= chart["height"]
    # A name that wraps into more lines than a cell holds makes its row taller instead of overflowing it.
    last = chart["rows"][-1]["lines"]
    tall = [c for c in cells if c["y"] == max(c["y"] for c in cells)]
    assert len(last) == 5 and all(c["height"] > HEATMAP_CELL for c in tall)
    assert last[-1]["y"] - last[0]["y"] <= tall[0]["height"] - HEATMAP_LINE


def test_the_default_five_segments_fit_a_phone_and_describe_every_flow():
    chart = heatmap_chart(comparison(NAMES, [*NAMES, "High Income · High Spending"]))
    assert chart["width"] <= PHONE_WIDTH and not chart["wide"]
    assert chart["flows"] == [cell["title"] for cell in chart["cells"] if cell["value"]]
    assert "customers: Average Customer → VIP / Whale" in " ".join(chart["flows"])
    assert heatmap_chart(comparison(NAMES * 2, NAMES * 2))["wide"]


def test_the_stylesheet_draws_the_heatmap_at_one_unit_per_pixel_and_its_font_size():
    rule = re.search(r"\.chart\.heatmap\s*{([^}]*)}", CSS).group(1)
    assert f"font-size: {HEATMAP_FONT}px" in rule
    assert "max-width: none" in rule and "width: auto" in rule
