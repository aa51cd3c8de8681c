"""Feature importance as a horizontal bar chart: the share of customers that change segment per shuffled feature."""

from typing import Any

from app.web.charts.styles import PALETTE


def importance_chart(importance: dict[str, Any] | None, *, width: int = 440) -> dict[str, Any] | None:
    """Geometry of one bar per feature (most important first), its width the share on a 0–100% scale; None without."""
    if not importance or not importance.get("features"):
        return None
    # Names above their bars, so a long label never runs off a phone-sized chart; rows tall enough for the phone's
    # larger chart text (app.css), where a name runs over its bar's value unless it sits clear above it.
    left, right, label_height, bar_height, gap, top = 2, 70, 34, 24, 14, 4
    plot_width = width - left - right
    bars = []
    for index, item in enumerate(importance["features"]):
        y = top + index * (label_height + bar_height + gap) + label_height
        bar_width = round(max(min(item["importance"], 1.0), 0.0) * plot_width, 2)
        bars.append(
            {
                "feature": item["feature"],
                "label": item["label"],
                "importance": item["importance"],
                "y": y,
                "height": bar_height,
                "width": bar_width,
                "label_y": y - 10,
                "value_x": left + bar_width + 6,
                "value_y": y + bar_height / 2,
            }
        )
    return {
        "width": width,
        "height": top + len(bars) * (label_height + bar_height + gap),
        "left": left,
        "plot_width": plot_width,
        "colour": PALETTE[0],
        "bars": bars,
        "sample_size": importance.get("sample_size"),
        "repeats": importance.get("repeats"),
    }
