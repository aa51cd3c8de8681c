"""Geometry of the monitoring charts: every point under the top gridline, and room for the longest count label."""

from datetime import UTC, datetime, timedelta

import pytest

from app.web.charts.monitoring import DIGIT_EM, TICK_FONT_UNITS, histogram_chart, volume_chart


def volume(peak: int, days: int = 7) -> dict:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    series = [
        {"start": (start + timedelta(days=d)).isoformat(), "counts": {"0": peak if d == days - 1 else d, "1": 3}}
        for d in range(days)
    ]
    segments = [{"segment_id": 0, "segment_name": "A"}, {"segment_id": 1, "segment_name": "B"}]
    return {"bucket": "day", "total": peak + 30, "segments": segments, "series": series}


@pytest.mark.parametrize("peak", [1, 3, 4_922, 10_000, 12_345, 250_000])
def test_volume_points_sit_under_the_top_gridline_and_the_longest_count_fits_the_margin(peak):
    chart = volume_chart(volume(peak), {})
    top = chart["y_ticks"][-1]
    assert top["value"] >= peak
    assert all(p["y"] >= top["px"] for line in chart["lines"] for p in line["points"])
    labels = [tick["label"] for tick in chart["y_ticks"]]
    # Whole counts, with thousands separators, each distinct.
    assert len(set(labels)) == len(labels) and all(label.replace(",", "").isdigit() for label in labels)
    widest = max(len(label) for label in labels) * DIGIT_EM * TICK_FONT_UNITS
    assert chart["plot"]["left"] - 6 >= widest  # labels end 6 units left of the plot


def test_ten_thousand_reads_with_its_separator():
    assert "10,000" in [tick["label"] for tick in volume_chart(volume(9_800), {})["y_ticks"]]


@pytest.mark.parametrize("tallest", [0.09, 0.142, 0.07, 0.31])
def test_histogram_bars_stay_under_the_top_gridline_and_label_their_ticks_exactly(tallest):
    reference = [0.1] * 10
    current = [tallest, *([(1 - tallest) / 9] * 9)]
    check = {
        "feature": "annual_income",
        "label": "Income",
        "histogram": {"edges": list(range(11)), "reference": reference, "current": current},
    }
    chart = histogram_chart(check)
    top = chart["y_ticks"][-1]
    assert top["value"] >= tallest
    assert all(b[kind]["y"] >= top["px"] for b in chart["bins"] for kind in ("reference", "current"))
    for tick in chart["y_ticks"]:
        assert float(tick["label"].rstrip("%")) == pytest.approx(tick["value"] * 100)
