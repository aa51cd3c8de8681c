"""Text colours in the stylesheet meet WCAG AA contrast (4.5:1) on the backgrounds they are used on."""

import re

import pytest

from app.core.config import PROJECT_ROOT

CSS = (PROJECT_ROOT / "app" / "static" / "css" / "app.css").read_text()


def _variables() -> dict[str, str]:
    root = re.search(r":root\s*{([^}]*)}", CSS).group(1)
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", root))


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_contrast_formula_on_known_pairs():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("text", ["ink", "muted", "accent", "accent-dark", "danger"])
@pytest.mark.parametrize("background", ["surface", "page"])
def test_text_colours_meet_aa(text, background):
    colours = _variables()
    assert contrast(colours[text], colours[background]) >= 4.5


def test_notice_and_banner_text_meet_aa():
    colours = _variables()
    assert contrast(colours["ink"], colours["warning-bg"]) >= 4.5  # .notice text on its yellow background
    banner = re.search(r"\.banner\s*{[^}]*background:\s*(#[0-9a-fA-F]{6});[^}]*color:\s*(#[0-9a-fA-F]{6})", CSS)
    assert contrast(banner.group(2), banner.group(1)) >= 4.5
    assert contrast("#ffffff", colours["accent"]) >= 4.5  # .button
