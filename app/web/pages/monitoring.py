"""The /monitoring page: drift, volume, histograms and segment mix as chart geometry, the last activation, and the
time window picker."""

from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode

from app.models.model import SegmentationModel
from app.models.segmentations.spec import DEFAULT_NAME
from app.services.monitoring.windows import ReversedSpan
from app.utils.moments import utc
from app.web.charts import monitoring as monitoring_charts
from app.web.charts import over_time
from app.web.charts.styles import segment_styles

# Each status has a symbol and a word, so colour is never the only cue.
STATUS_SYMBOLS = {"stable": "✓", "watch": "!", "drift": "✕", "insufficient data": "…"}
# The overall badge's words where the status's own are a fragment ("… insufficient data") rather than a verdict.
STATUS_WORDS = {"insufficient data": "Not enough data for a verdict yet."}

Period = Literal["24h", "7d", "30d"]
# The presets of the window picker: the last day (the API's default), week and month.
PERIODS: dict[str, tuple[str, timedelta]] = {
    "24h": ("Last 24 h", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
}
DEFAULT_PERIOD = "24h"
Bucket = Literal["hour", "day", "week"]
BUCKET_LABELS = {"hour": "By hour", "day": "By day", "week": "By week"}


def preset_span(period: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The since/until of a preset: its span, ending now."""
    now = now or datetime.now(UTC)
    return now - PERIODS[period][1], now


def default_bucket(since: datetime | None, until: datetime | None) -> str:
    """Hours for a window of up to two days, days for a longer one (and for `window=N`)."""
    # The form's fields carry no zone: read as UTC, as the services read them.
    if since is not None and utc(until or datetime.now(UTC)) - utc(since) <= timedelta(days=2):
        return "hour"
    return "day"


def period_links(*, segmentation: str, current: str | None, bucket: str | None = None) -> list[dict[str, Any]]:
    """The picker's links, each keeping the page's segmentation (and a bucket picked on the page)."""
    extra = {} if segmentation == DEFAULT_NAME else {"segmentation": segmentation}
    kept = {"bucket": bucket} if bucket else {}
    return [
        {
            "period": key,
            "label": label,
            "href": "?" + urlencode({**extra, "period": key, **kept}),
            "current": key == current,
        }
        for key, (label, _) in PERIODS.items()
    ]


def bucket_links(*, segmentation: str, window: dict[str, str], current: str) -> list[dict[str, Any]]:
    """The bucket control's links, each keeping the segmentation and the time window (`window`: its query)."""
    extra = {} if segmentation == DEFAULT_NAME else {"segmentation": segmentation}
    return [
        {
            "bucket": key,
            "label": name,
            "href": "?" + urlencode(extra | window | {"bucket": key}),
            "current": key == current,
        }
        for key, name in BUCKET_LABELS.items()
    ]


def over_time_charts(model: SegmentationModel, timeseries: dict[str, Any], styles: dict) -> dict[str, Any]:
    """The charts over time, all from one answer of the timeseries service."""
    return {
        "series": timeseries,
        "mix": over_time.mix_over_time(timeseries, styles),
        "volume": over_time.volume_over_time(timeseries),
        "rates": over_time.rates_over_time(timeseries),
        "drift": over_time.drift_strips(timeseries, over_time.check_labels(model)),
        "segment_names": {s["segment_id"]: s["segment_name"] for s in timeseries["segments"]},
    }


def monitoring_page(
    model: SegmentationModel,
    report: dict[str, Any],
    volume: dict[str, Any],
    activation: dict[str, Any] | None = None,
    *,
    segmentation: str = DEFAULT_NAME,
    period: str | None = None,
    timeseries: dict[str, Any] | None = None,
    window_query: dict[str, str] | None = None,
    bucket_picked: bool = False,
) -> dict[str, Any]:
    """Context for /monitoring: drift, volume, histograms and segment mix as chart geometry, the last activation,
    and the window picker (`period` is the preset shown, None for a custom span or `window=N`); with `timeseries`,
    the charts over time and the bucket control (`window_query`: the window's own query parameters)."""
    styles = {style.segment_id: style for style in segment_styles(model)}
    bucket = timeseries["bucket"] if timeseries else None
    window = report["window"]
    return {
        "report": report,
        "span_error": None,
        # The custom span's fields show the span shown, unless a preset or the last N rows is.
        "custom": _span_fields(window["since"], window["until"]) if window["kind"] == "time" and not period else None,
        "volume": volume,
        # A span with a To counts up to it; without one, up to now ("since" says it).
        "volume_until": volume["until"] if "until" in (window_query or {}) else None,
        "volume_chart": monitoring_charts.volume_chart(volume, styles),
        "histograms": [monitoring_charts.histogram_chart(check) for check in report["features"]],
        "mix_chart": monitoring_charts.mix_chart(report["segment_mix"], styles) if report["segment_mix"] else None,
        "trained_at": model.info.get("trained_at"),
        "activation": activation,
        "model_version": model.version,
        "symbols": STATUS_SYMBOLS,
        "status_words": STATUS_WORDS,
        "styles": styles,
        "periods": period_links(segmentation=segmentation, current=period, bucket=bucket if bucket_picked else None),
        "bucket": bucket,
        "buckets": bucket_links(segmentation=segmentation, window=window_query or {}, current=bucket or ""),
        "over_time": over_time_charts(model, timeseries, styles) if timeseries else None,
        "period_label": PERIODS[period][0] if period else None,
    }


def _span_fields(since: str, until: str) -> dict[str, str]:
    """The custom span's From and To as a datetime-local field takes them (UTC, to the minute)."""
    return {"since": since[:16], "until": until[:16]}


def reversed_span_page(error: ReversedSpan, segmentation: str, bucket: str | None) -> dict[str, Any]:
    """Context for /monitoring asked for a From after its To: the window picker with what was typed and the problem,
    and nothing measured or charted (no span holds it)."""
    since, until = error.since.isoformat(), error.until.isoformat()
    return {
        "report": None,
        "span_error": {"since": since, "until": until},
        "custom": _span_fields(since, until),
        "periods": period_links(segmentation=segmentation, current=None, bucket=bucket),
        "bucket": bucket,
    }
