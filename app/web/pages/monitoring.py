"""The /monitoring page: drift, volume, histograms and segment mix as chart geometry, and the last activation."""

from typing import Any

from app.models.model import SegmentationModel
from app.web.charts import monitoring as monitoring_charts
from app.web.charts.styles import segment_styles

# Each status has a symbol and a word, so colour is never the only cue.
STATUS_SYMBOLS = {"stable": "✓", "watch": "!", "drift": "✕", "insufficient data": "…"}


def monitoring_page(
    model: SegmentationModel,
    report: dict[str, Any],
    volume: dict[str, Any],
    activation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Context for /monitoring: drift, volume, histograms and segment mix as chart geometry, the last activation."""
    styles = {style.segment_id: style for style in segment_styles(model)}
    return {
        "report": report,
        "volume": volume,
        "volume_chart": monitoring_charts.volume_chart(volume, styles),
        "histograms": [monitoring_charts.histogram_chart(check) for check in report["features"]],
        "mix_chart": monitoring_charts.mix_chart(report["segment_mix"], styles) if report["segment_mix"] else None,
        "trained_at": model.info.get("trained_at"),
        "activation": activation,
        "model_version": model.version,
        "symbols": STATUS_SYMBOLS,
        "styles": styles,
    }
