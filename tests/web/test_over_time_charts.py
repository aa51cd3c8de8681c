"""Geometry of the charts over time: stacked shares fill each bar, lines break where a bucket has no value, and each
check's strip holds the stored statuses."""

from datetime import UTC, datetime, timedelta

from app.web.charts import over_time
from app.web.charts.monitoring import time_ticks
from app.web.charts.styles import SegmentStyle

START = datetime(2026, 12, 1, tzinfo=UTC)
STYLES = {i: SegmentStyle(i, f"S{i}", colour, "circle", "M0,0") for i, colour in ((0, "#0072B2"), (7, "#D55E00"))}


def point(i: int, counts: dict[str, int], drift: dict | None = None, predictions: int | None = None) -> dict:
    size = sum(counts.values())
    return {
        "start": (START + timedelta(days=i)).isoformat(),
        "predictions": size if predictions is None else predictions,
        "customers": size,
        "counts": counts,
        "atypical_rate": counts.get("7", 0) / size if size else None,
        "out_of_range_rate": 0.0 if size else None,
        "drift": drift,
    }


def series(points: list[dict]) -> dict:
    segments = [{"segment_id": 0, "segment_name": "S0"}, {"segment_id": 7, "segment_name": "S7"}]
    return {"bucket": "day", "segments": segments, "series": points}


def test_each_bar_is_stacked_to_the_full_height_in_segment_colours():
    data = series([point(0, {"0": 3, "7": 1}), point(1, {}), point(2, {"7": 5})])
    chart = over_time.mix_over_time(data, STYLES)
    plot = chart["plot"]
    assert [bar["start"] for bar in chart["bars"]] == [data["series"][0]["start"], data["series"][2]["start"]]
    for bar in chart["bars"]:
        assert abs(sum(rect["height"] for rect in bar["rects"]) - (plot["bottom"] - plot["top"])) < 0.05
    first = chart["bars"][0]["rects"]
    assert [(r["segment"]["segment_id"], r["count"], r["style"].colour) for r in first] == [
        (0, 3, "#0072B2"),
        (7, 1, "#D55E00"),
    ]
    assert abs(first[0]["height"] - 3 * first[1]["height"]) < 0.05
    assert {row["segment"]["segment_id"]: row["share"] for row in chart["legend"]} == {0: 3 / 9, 7: 6 / 9}


def test_rate_lines_break_where_a_bucket_has_no_customer_and_empty_series_are_none():
    data = series([point(0, {"0": 2}), point(1, {}), point(2, {"7": 2}), point(3, {"7": 1, "0": 1})])
    rates = over_time.rates_over_time(data)
    atypical = next(line for line in rates["lines"] if line["key"] == "atypical_rate")
    assert [[p["value"] for p in run] for run in atypical["runs"]] == [[0.0], [1.0, 0.5]]
    empty = series([point(0, {}), point(1, {})])
    assert over_time.mix_over_time(empty, STYLES) is None
    assert over_time.volume_over_time(empty) is None
    assert over_time.rates_over_time(empty) is None
    assert over_time.drift_strips(empty, {}) is None


def test_a_strip_per_check_with_each_stored_status_in_its_bucket():
    stored = {"status": "watch", "checks": {"overall": "watch", "feature:income": "drift", "segment_mix": "stable"}}
    data = series([point(0, {"0": 1}), point(1, {"0": 1}, drift=stored), point(2, {})])
    labels = {"feature:income": "Income"} | over_time.FIXED_CHECKS
    chart = over_time.drift_strips(data, labels)
    rows = {strip["check"]: strip for strip in chart["strips"]}
    assert list(rows) == ["overall", "feature:income", "segment_mix"]
    assert rows["feature:income"]["label"] == "Income"
    cells = [(c["status"], c["start"]) for c in rows["feature:income"]["cells"]]
    assert cells == [("drift", data["series"][1]["start"])]
    assert [c["status"] for c in rows["overall"]["cells"]] == ["watch"]
    assert rows["overall"]["cells"][0]["x"] > chart["left"]


def test_time_labels_are_centred_on_their_bucket_unless_that_runs_past_an_edge():
    few = [point(i, {"0": 1}) for i in range(3)]
    ticks = time_ticks(few, "%d %b", at=lambda i: 40 + (i + 0.5) * 200, width=680)
    assert [tick["anchor"] for tick in ticks] == ["middle"] * 3  # wide bands: every label fits centred
    assert ticks[-1]["px"] == 40 + 2.5 * 200

    # Narrow buckets at the edges: centring would cut the first and last labels, so they run inwards.
    narrow = [point(i, {"0": 1}) for i in range(5)]
    ticks = time_ticks(narrow, "%d %b", at=lambda i: 8 + (i + 0.5) * 22, width=8 + 5 * 22 + 2)
    assert [tick["label"] for tick in ticks] == [(START + timedelta(days=i)).strftime("%d %b") for i in (0, 2, 4)]
    assert [tick["anchor"] for tick in ticks] == ["start", "middle", "end"]
