"""Text colours in the stylesheet and the heatmap meet WCAG AA contrast (4.5:1) where they are used."""

import re
from itertools import pairwise

import pytest

from app.core.config import PROJECT_ROOT
from app.utils.colour import AA_TEXT, contrast_ratio, relative_luminance
from app.web.charts.heatmap import HEATMAP_INK, HEATMAP_ON_DARK, heatmap_chart

CSS = (PROJECT_ROOT / "app" / "static" / "css" / "app.css").read_text()


def _variables() -> dict[str, str]:
    root = re.search(r":root\s*{([^}]*)}", CSS).group(1)
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", root))


@pytest.mark.parametrize("text", ["ink", "muted", "accent", "accent-dark", "danger"])
@pytest.mark.parametrize("background", ["surface", "page"])
def test_text_colours_meet_aa(text, background):
    colours = _variables()
    assert contrast_ratio(colours[text], colours[background]) >= AA_TEXT


def test_notice_and_banner_text_meet_aa():
    colours = _variables()
    assert contrast_ratio(colours["ink"], colours["warning-bg"]) >= AA_TEXT  # .notice text on its yellow background
    banner = re.search(r"\.banner\s*{[^}]*background:\s*(#[0-9a-fA-F]{6});[^}]*color:\s*(#[0-9a-fA-F]{6})", CSS)
    assert contrast_ratio(banner.group(2), banner.group(1)) >= AA_TEXT
    assert contrast_ratio("#ffffff", colours["accent"]) >= AA_TEXT  # .button


def test_heatmap_text_colours_are_the_stylesheets():
    colours = _variables()
    assert colours["ink"] == HEATMAP_INK
    assert re.search(r"\.heatmap text\.on-dark\s*{\s*fill:\s*(#[0-9a-fA-F]{3,6})", CSS).group(1) in {
        "#fff",
        HEATMAP_ON_DARK,
    }


def test_heatmap_counts_take_the_text_colour_that_contrasts_more():
    counts = list(range(0, 101))
    comparison = {
        "migration_matrix": [counts],
        "old_segments": [{"segment_id": 0, "name": "old"}],
        "new_segments": [{"segment_id": j, "name": f"new {j}"} for j in counts],
    }
    cells = heatmap_chart(comparison)["cells"]
    for cell in cells:
        chosen, other = (HEATMAP_ON_DARK, HEATMAP_INK) if cell["dark"] else (HEATMAP_INK, HEATMAP_ON_DARK)
        assert contrast_ratio(chosen, cell["fill"]) >= contrast_ratio(other, cell["fill"]), cell
        assert contrast_ratio(chosen, cell["fill"]) >= AA_TEXT, cell  # mid-tones included
    assert not cells[0]["dark"] and cells[-1]["dark"]
    # Still a ramp: more customers never give a lighter cell.
    luminance = [relative_luminance(cell["fill"]) for cell in cells]
    assert all(a >= b for a, b in pairwise(luminance))
    assert len(set(luminance)) > 50
