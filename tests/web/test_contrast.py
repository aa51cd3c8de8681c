"""Text colours meet WCAG AA contrast (4.5:1) where they are used, and chart colours the 3:1 asked of graphics."""

import re
from itertools import combinations, pairwise

import numpy as np
import pytest

from app.core.config import PROJECT_ROOT
from app.utils.colour import AA_TEXT, contrast_ratio, relative_luminance
from app.web.charts.heatmap import HEATMAP_INK, HEATMAP_ON_DARK, heatmap_chart
from app.web.charts.styles import PALETTE

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


# WCAG 1.4.11: bars, lines and markers a reader needs reach 3:1 against what they are drawn on (cards and the page).
GRAPHICS = 3.0
# Every chart colour the stylesheet sets; grid lines are left out (they only help, the axes carry the scale).
CHART_RULES = (
    ".bar-training",
    ".bar-current",
    ".series-inertia",
    ".series-inertia-point",
    ".series-silhouette",
    ".series-silhouette-point",
    ".chosen-k",
    ".chart .axis line",
)


@pytest.mark.parametrize("colour", PALETTE)
@pytest.mark.parametrize("background", ["surface", "page"])
def test_every_segment_colour_stands_out_from_the_card_and_the_page(colour, background):
    assert contrast_ratio(colour, _variables()[background]) >= GRAPHICS


@pytest.mark.parametrize("rule", CHART_RULES)
@pytest.mark.parametrize("background", ["surface", "page"])
def test_every_chart_colour_of_the_stylesheet_stands_out(rule, background):
    colour = re.search(rf"{re.escape(rule)}\s*{{\s*(?:fill|stroke):\s*(#[0-9a-fA-F]{{6}})", CSS).group(1)
    assert contrast_ratio(colour, _variables()[background]) >= GRAPHICS, (rule, colour)


# Colour-vision deficiencies as linear-RGB matrices (Machado, Oliveira and Fernandes 2009, severity 1).
VISION = {
    "typical": np.eye(3),
    "deuteranopia": np.array([[0.367, 0.861, -0.228], [0.280, 0.673, 0.047], [-0.012, 0.043, 0.969]]),
    "protanopia": np.array([[0.152, 1.053, -0.205], [0.115, 0.786, 0.099], [-0.004, -0.048, 1.052]]),
    "tritanopia": np.array([[1.256, -0.077, -0.179], [-0.078, 0.931, 0.148], [0.005, 0.691, 0.304]]),
}


def _lab(colour: str, vision: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of a #rrggbb colour as seen with `vision`."""
    srgb = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    linear = np.clip(vision @ np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4), 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > 0.008856, np.cbrt(t), 7.787 * t + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


@pytest.mark.parametrize("vision", VISION)
def test_the_default_five_segment_colours_stay_apart_with_colour_vision_deficiencies(vision):
    # Darkening colours to 3:1 must not merge two of the five segments a default model has (CIE76 distance).
    for a, b in combinations(PALETTE[:5], 2):
        assert np.linalg.norm(_lab(a, VISION[vision]) - _lab(b, VISION[vision])) >= 15, (a, b)
