"""The /monitoring page: drift, volume, histograms and segment mix as chart geometry, the last activation, and the
time window picker."""

from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode

from app.models.model import SegmentationModel
from app.models.segmentations.spec import DEFAULT_NAME
from app.web.charts import monitoring as monitoring_charts
from app.web.charts.styles import segment_styles

# Each status has a symbol and a word, so colour is never the only cue.
STATUS_SYMBOLS = {"stable": "✓", "watch": "!", "drift": "✕", "insufficient data": "…"}

Period = Literal["24h", "7d", "30d"]
# The presets of the window picker: the last day (the API's default), week and month.
PERIODS: dict[str, tuple[str, timedelta]] = {
    "24h": ("Last 24 h", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
}
DEFAULT_PERIOD = "24h"


def preset_span(period: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The since/until of a preset: its span, ending now."""
    now = now or datetime.now(UTC)
    return now - PERIODS[period][1], now


def period_links(*, segmentation: str, current: str | None) -> list[dict[str, Any]]:
    """The picker's links, each keeping the page's segmentation."""
    extra = {} if segmentation == DEFAULT_NAME else {"segmentation": segmentation}
    return [
        {"period": key, "label": label, "href": "?" + urlencode({**extra, "period": key}), "current": key == current}
        for key, (label, _) in PERIODS.items()
    ]


def monitoring_page(
    model: SegmentationModel,
    report: dict[str, Any],
    volume: dict[str, Any],
    activation: dict[str, Any] | None = None,
    *,
    segmentation: str = DEFAULT_NAME,
    period: str | None = None,
) -> dict[str, Any]:
    """Context for /monitoring: drift, volume, histograms and segment mix as chart geometry, the last activation,
    and the window picker (`period` is the preset shown, None for a custom span or `window=N`)."""
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
        "periods": period_links(segmentation=segmentation, current=period),
        "period_label": PERIODS[period][0] if period else None,
    }
