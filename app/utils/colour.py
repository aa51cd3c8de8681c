"""WCAG 2 colour contrast of #rrggbb colours."""

# WCAG AA for normal-size text.
AA_TEXT = 4.5


def relative_luminance(hex_colour: str) -> float:
    """Relative luminance of a #rrggbb colour, 0 (black) to 1 (white), as WCAG 2 defines it."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours, 1 to 21; the order does not matter."""
    lighter, darker = sorted((relative_luminance(foreground), relative_luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
