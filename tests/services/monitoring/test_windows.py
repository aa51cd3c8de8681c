"""Drift windows read as arrays hold what the row-by-row read they replaced held, and so give the same drift report:
on random logs of both tables, spans cutting through them, the row limits; SQLite and PostgreSQL."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from app.db.session import create_db_engine, session_factory
from app.services.monitoring import log_reader, windows
from app.services.monitoring.drift import Window, drift_report
from app.services.monitoring.log_reader import LogFilter, read_log
from tests.services.monitoring.random_log import START, write_random_log

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = _EPOCH.replace(tzinfo=None)
SPANS = {
    "a day": {"since": START + timedelta(days=2), "until": START + timedelta(days=3)},
    "the whole log": {"since": START - timedelta(days=3), "until": START + timedelta(days=15)},
    "cut inside it": {"since": START + timedelta(hours=5, minutes=10), "until": START + timedelta(days=9, hours=1)},
    "an instant": {"since": START + timedelta(days=2), "until": START + timedelta(days=2)},
}


def _micros(moment: datetime) -> int:
    return (moment - (_NAIVE_EPOCH if moment.tzinfo is None else _EPOCH)) // timedelta(microseconds=1)


class RowRead(windows._Read):
    """The window's arrays as they were built before: from read_log's rows, a part at a time."""

    def add(self, part: Sequence[tuple]) -> None:
        if not part:
            return
        arrays, n = self._parts, len(part)
        ids, created, inputs, segments, atypical, out_of_range, requests, *customers = zip(*part, strict=True)
        arrays["id"].append(np.fromiter(ids, np.int64, n))
        arrays["created"].append(np.fromiter(map(_micros, created), np.int64, n))
        arrays["segment_id"].append(np.fromiter(segments, np.int64, n))
        arrays["atypical"].append(np.fromiter(atypical, bool, n))
        arrays["out_of_range"].append(np.fromiter(out_of_range, bool, n))
        arrays["request"].append(np.fromiter(map(windows._id_hash, requests), np.int64, n))
        arrays["customer"].append(
            np.fromiter(map(windows._id_hash, customers[0]), np.int64, n) if customers else np.zeros(n, np.int64)
        )
        for name in sorted({name for values in inputs for name in values}):
            present = np.fromiter((name in values for values in inputs), bool, len(part))
            values = np.array([values.get(name, np.nan) for values in inputs], dtype=np.float64)
            self._inputs.setdefault(name, []).append((self.rows, present, values))
        self.rows += len(part)


def _row_read(parts: Any, *, limit: int | None = None) -> RowRead:
    read = RowRead()
    for part in parts:
        if limit is not None and read.rows + len(part) > limit:
            part = part[: limit - read.rows]
            read.limit_hit = True
        read.add(part)
        if read.limit_hit:
            break
    return read


def reference_time_window(session, *, model_version, segmentation, since, until) -> Window:
    """`time_window` as it was: read_log's rows."""
    where = LogFilter(segmentation=segmentation, model_versions=(model_version,), since=since, until=until)
    parts = read_log(
        session,
        columns=(*windows._COLUMNS, "customer_id"),
        where=where,
        limit=windows.MAX_TIME_WINDOW_ROWS + 1,
        raw_times=True,
        part_rows=windows.READ_PART_ROWS,
    )
    read = _row_read(parts, limit=windows.MAX_TIME_WINDOW_ROWS)
    return read.window(
        session,
        kind="time",
        requested=None,
        latest=True,
        since=since,
        until=until,
        rows_read=read.rows,
        truncated=read.limit_hit,
    )


def reference_rows_window(session, *, model_version, size, segmentation, since=None, until=None) -> Window:
    """`last_rows_window` as it was: read_log's rows."""
    if since is not None or until is not None:
        since, until = windows.time_bounds(since=since, until=until)
    where = LogFilter(segmentation=segmentation, model_versions=(model_version,), since=since, until=until)
    parts = read_log(
        session,
        columns=windows._COLUMNS,
        where=where,
        limit=size,
        newest_rows=windows.MAX_SCANNED_ROWS,
        raw_times=True,
        part_rows=windows.READ_PART_ROWS,
    )
    return _row_read(parts).window(session, kind="rows", requested=size, since=since, until=until)


def assert_same(found: Window, expected: Window) -> None:
    """The two windows hold the same values, feature by feature, in the same order."""
    assert list(found.inputs) == list(expected.inputs)
    for name in expected.inputs:
        np.testing.assert_array_equal(found.inputs[name], expected.inputs[name])
    for name in ("segment_ids", "atypical", "out_of_range"):
        np.testing.assert_array_equal(getattr(found, name), getattr(expected, name))
        assert getattr(found, name).dtype == getattr(expected, name).dtype
    facts = ("first", "last", "requested", "kind", "since", "until", "rows_read", "truncated", "main_request")
    assert {fact: getattr(found, fact) for fact in facts} == {fact: getattr(expected, fact) for fact in facts}


@pytest.fixture(scope="module")
def log_url(tmp_path_factory) -> str:
    """A random SQLite log, written once for the module."""
    url = f"sqlite:///{tmp_path_factory.mktemp('windows') / 'log.sqlite3'}"
    write_random_log(url, seed=11)
    return url


@pytest.fixture
def session(log_url):
    engine = create_db_engine(log_url)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


@pytest.mark.parametrize("span", SPANS.values(), ids=SPANS.keys())
@pytest.mark.parametrize(("segmentation", "version"), [("default", "v1"), ("default", "v2"), ("crm", "v1")])
@pytest.mark.parametrize("max_rows", [200_000, 150, 1])
def test_time_window_holds_what_the_row_read_held(session, monkeypatch, span, segmentation, version, max_rows):
    monkeypatch.setattr(windows, "MAX_TIME_WINDOW_ROWS", max_rows)
    query = {"model_version": version, "segmentation": segmentation, **span}
    found, expected = windows.time_window(session, **query), reference_time_window(session, **query)

    assert_same(found, expected)
    if span is SPANS["the whole log"] and max_rows > 1_000 and version == "v1" and segmentation == "default":
        assert (found.rows_read > len(found) > 1_000, found.truncated) == (True, False)


@pytest.mark.parametrize("size", [1, 100, 1_000, 100_000])
@pytest.mark.parametrize("span", [{}, SPANS["cut inside it"]], ids=["any time", "a span"])
@pytest.mark.parametrize("scanned", [200_000, 300])
def test_last_rows_window_holds_what_the_row_read_held(session, monkeypatch, size, span, scanned):
    monkeypatch.setattr(windows, "MAX_SCANNED_ROWS", scanned)
    query = {"model_version": "v1", "segmentation": "default", "size": size, **span}

    assert_same(windows.last_rows_window(session, **query), reference_rows_window(session, **query))


def test_windows_never_make_a_python_row_of_a_chunk(session, monkeypatch):
    query = {"model_version": "v1", "segmentation": "default", **SPANS["the whole log"]}
    expected = reference_time_window(session, **query)
    expected_by_rows = reference_rows_window(session, model_version="v1", segmentation="default", size=2_000)

    def refuse(*args: Any) -> None:
        raise AssertionError("a chunk's rows were made Python tuples")

    monkeypatch.setattr(log_reader, "_chunk_rows", refuse)

    assert_same(windows.time_window(session, **query), expected)
    assert_same(
        windows.last_rows_window(session, model_version="v1", segmentation="default", size=2_000), expected_by_rows
    )


def test_windows_on_each_database_give_the_row_reads_drift_report(database_url, model):
    # The random log's versions are renamed to the model's, so that its drift reference judges them.
    write_random_log(database_url, seed=12, requests=250)
    engine = create_db_engine(database_url)
    try:
        with engine.begin() as connection:
            for table in ("prediction_log", "prediction_chunks"):
                connection.exec_driver_sql(f"UPDATE {table} SET model_version = '{model.version}'")
        with session_factory(engine)() as session:
            query = {"model_version": model.version, "segmentation": "default", **SPANS["the whole log"]}
            found, expected = windows.time_window(session, **query), reference_time_window(session, **query)
            rows_query = {"model_version": model.version, "segmentation": "default", "size": 5_000}
            by_rows = windows.last_rows_window(session, **rows_query)
            expected_by_rows = reference_rows_window(session, **rows_query)
    finally:
        engine.dispose()

    assert_same(found, expected)
    assert_same(by_rows, expected_by_rows)
    assert len(found) > 100
    assert drift_report(model, found) == drift_report(model, expected)
    assert drift_report(model, by_rows) == drift_report(model, expected_by_rows)
