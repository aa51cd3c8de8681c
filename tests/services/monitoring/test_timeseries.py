"""The over-time series, computed on arrays, answers what the row-by-row loop it replaced answered, to the byte of its
JSON: on random logs of both tables, every bucket, spans cutting through the log, the row limit; SQLite and
PostgreSQL."""

import json
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from app.db.session import create_db_engine, session_factory
from app.services.monitoring import log_reader
from app.services.monitoring import timeseries as series
from app.services.monitoring.log_reader import LogFilter, read_all
from tests.services.monitoring.random_log import NAMES, START, write_random_log

# A model as the series sees it: its version and its segments (S5 and S6 are logged but not among them).
MODELS = {
    version: SimpleNamespace(version=version, segments=[SimpleNamespace(segment_id=i, name=NAMES[i]) for i in range(5)])
    for version in ("v1", "v2")
}
SPANS = {
    "defaults": {},
    "the whole log": {"since": START - timedelta(days=3), "until": START + timedelta(days=15)},
    "cut inside it": {
        "since": START + timedelta(days=1, hours=5, minutes=10),
        "until": START + timedelta(days=9, hours=1),
    },
    "an instant": {"since": START + timedelta(days=2), "until": START + timedelta(days=2)},
}


def reference(session, model, *, segmentation, bucket, since=None, until=None, now) -> dict[str, Any]:
    """The series as it was computed before: a loop over the rows (newest first), each customer's first row in a
    bucket kept."""
    start, until = series._span(bucket, since, until, now)
    n = series._index(until, start, bucket) + 1
    rows = read_all(
        session,
        columns=("created_at", "segment_id", "is_atypical", "out_of_range", "customer_id"),
        where=LogFilter(segmentation=segmentation, model_versions=(model.version,), since=start, until=until),
        limit=series.MAX_ROWS + 1,
    )
    truncated = len(rows) > series.MAX_ROWS
    names = {segment.segment_id: segment.name for segment in model.segments}
    predictions = [0] * n
    customers: list[dict[Any, tuple]] = [{} for _ in range(n)]
    for position, (created_at, segment_id, atypical, out_of_range, customer_id) in enumerate(rows[: series.MAX_ROWS]):
        b = series._index(created_at, start, bucket)
        if not 0 <= b < n:
            continue
        predictions[b] += 1
        key = ("id", customer_id) if customer_id is not None else ("row", position)
        customers[b].setdefault(key, (segment_id, atypical, out_of_range))
    checks = series._evaluations(session, segmentation=segmentation, start=start, until=until, bucket=bucket, n=n)
    points = []
    for b in range(n):
        kept = list(customers[b].values())
        counts: dict[str, int] = {}
        for segment_id, _, _ in kept:
            counts[str(segment_id)] = counts.get(str(segment_id), 0) + 1
        size = len(kept)
        points.append(
            {
                "start": (start + b * series.BUCKETS[bucket]).isoformat(),
                "predictions": predictions[b],
                "customers": size,
                "counts": counts,
                "atypical_rate": sum(a for _, a, _ in kept) / size if size else None,
                "out_of_range_rate": sum(o for _, _, o in kept) / size if size else None,
                "drift": checks[b],
            }
        )
    seen = sorted({int(key) for point in points for key in point["counts"]} | set(names))
    return {
        "segmentation": segmentation,
        "model_version": model.version,
        "bucket": bucket,
        "since": start.isoformat(),
        "until": until.isoformat(),
        "truncated": truncated,
        "segments": [{"segment_id": i, "segment_name": names.get(i, f"Segment {i}")} for i in seen],
        "series": points,
    }


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> dict[int, str]:
    """Two random SQLite logs, written once for the module."""
    urls = {}
    for seed in (1, 2):
        urls[seed] = f"sqlite:///{tmp_path_factory.mktemp('series') / 'log.sqlite3'}"
        write_random_log(urls[seed], seed=seed)
    return urls


def _both(url: str, **query: Any) -> tuple[str, str]:
    engine = create_db_engine(url)
    try:
        with session_factory(engine)() as session:
            found = series.timeseries(session, **query)
            expected = reference(session, **query)
    finally:
        engine.dispose()
    assert found == expected
    return json.dumps(found), json.dumps(expected)


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("bucket", ["hour", "day", "week"])
@pytest.mark.parametrize("span", SPANS.values(), ids=SPANS.keys())
@pytest.mark.parametrize(("segmentation", "version"), [("default", "v1"), ("default", "v2"), ("crm", "v1")])
def test_timeseries_answers_what_the_row_loop_answered(logs, seed, bucket, span, segmentation, version):
    now = START + timedelta(days=6, hours=3, minutes=7)
    found, expected = _both(
        logs[seed], model=MODELS[version], segmentation=segmentation, bucket=bucket, now=now, **span
    )

    assert found == expected


@pytest.mark.parametrize("max_rows", [1, 77, 1_500])
@pytest.mark.parametrize("bucket", ["hour", "day"])
def test_timeseries_cut_at_the_row_limit_answers_as_the_row_loop(logs, monkeypatch, max_rows, bucket):
    monkeypatch.setattr(series, "MAX_ROWS", max_rows)
    span = SPANS["the whole log"]
    found, expected = _both(logs[1], model=MODELS["v1"], segmentation="default", bucket=bucket, now=START, **span)

    assert found == expected
    assert json.loads(found)["truncated"] is True


def test_timeseries_on_each_database_answers_as_the_row_loop(database_url):
    write_random_log(database_url, seed=3, requests=250)
    now = START + timedelta(days=7)
    for bucket in ("hour", "day", "week"):
        found, expected = _both(database_url, model=MODELS["v1"], segmentation="default", bucket=bucket, now=now)
        assert found == expected
        assert sum(point["customers"] for point in json.loads(found)["series"]) > 100


def test_timeseries_of_an_empty_log_has_empty_buckets(database_url):
    write_random_log(database_url, seed=4, requests=0)
    now = datetime.fromisoformat("2026-12-01T10:30:00+00:00")
    found, expected = _both(database_url, model=MODELS["v1"], segmentation="default", bucket="day", now=now)

    assert found == expected
    assert {point["customers"] for point in json.loads(found)["series"]} == {0}


def test_timeseries_never_makes_a_python_row_of_a_chunk(logs, monkeypatch):
    def refuse(*args: Any) -> None:
        raise AssertionError("a chunk's rows were made Python tuples")

    expected = _both(logs[1], model=MODELS["v1"], segmentation="default", bucket="day", now=START)[1]
    monkeypatch.setattr(log_reader, "_chunk_rows", refuse)
    engine = create_db_engine(logs[1])
    try:
        with session_factory(engine)() as session:
            found = series.timeseries(session, MODELS["v1"], segmentation="default", bucket="day", now=START)
    finally:
        engine.dispose()

    assert json.dumps(found) == expected
