"""Customers per segment of a scored file, as a horizontal bar chart."""

from typing import Any

from app.models.model import SegmentationModel
from app.web.charts.styles import segment_styles


def segment_bars(segments: list[dict[str, Any]], model: SegmentationModel, *, width: int = 440) -> dict[str, Any]:
    """Geometry of a horizontal bar chart of customers per segment (share of the scored file)."""
    styles = {style.segment_id: style for style in segment_styles(model)}
    # Names sit above their bars, not beside them: at a phone's text size a name beside the bar ran off the chart.
    left, right, label_height, bar_height, gap, top = 2, 130, 22, 20, 10, 4
    plot_width = width - left - right
    bars = []
    for index, segment in enumerate(segments):
        y = top + index * (label_height + bar_height + gap) + label_height
        bars.append(
            {
                "y": y,
                "height": bar_height,
                "width": round(max(segment["share"] * plot_width, 0), 2),
                "label_y": y - 6,
                "value_y": y + bar_height / 2,
                "style": styles[segment["segment_id"]],
                "segment": segment,
            }
        )
    return {
        "width": width,
        "height": top + len(segments) * (label_height + bar_height + gap),
        "left": left,
        "plot_width": plot_width,
        "bars": bars,
    }
