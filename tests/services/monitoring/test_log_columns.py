"""The log read as arrays holds the rows `read_log` gives, in its order, under every filter, limit and part size; on
SQLite and on PostgreSQL."""

import math
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import func, select

from app.db.session import create_db_engine, session_factory
from app.db.tables import PredictionChunk
from app.services.monitoring import log_columns
from app.services.monitoring.log_columns import micros, read_blocks, read_columns
from app.services.monitoring.log_reader import LogFilter, read_log
from tests.services.monitoring.random_log import START, write_random_log

COLUMNS = ("ref", "created_at", "segment_id", "is_atypical", "out_of_range", "customer_id", "request_id", "inputs")
FILTERS = {
    "everything": LogFilter(),
    "one version": LogFilter(segmentation="default", model_versions=("v1",)),
    "a span": LogFilter(
        segmentation="default",
        model_versions=("v1",),
        since=START - timedelta(hours=5),
        until=START + timedelta(days=3),
    ),
    "another segmentation": LogFilter(segmentation="crm", since=START),
    "nothing": LogFilter(segmentation="nobody"),
}


@pytest.fixture
def sessions(database_url):
    write_random_log(database_url, seed=7)
    engine = create_db_engine(database_url)
    yield session_factory(engine)
    engine.dispose()


def _plain(value: object) -> object:
    """NaN as a word, so that rows holding one compare equal; a per-row input logged as null is NaN in an array."""
    return "nan" if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _row_values(rows: list[tuple]) -> list[tuple]:
    """read_log's rows (raw times) as comparable tuples: times in microseconds, inputs as sorted items."""
    return [
        (*row[:1], micros(row[1]), *row[2:-1], sorted((name, _plain(value)) for name, value in row[-1].items()))
        for row in rows
    ]


def _block_values(blocks: list) -> list[tuple]:
    """The same tuples from blocks."""
    found = []
    for block in blocks:
        columns = [block.columns[name].tolist() for name in COLUMNS[:-1]]
        inputs = {name: (present.tolist(), values.tolist()) for name, (present, values) in block.inputs.items()}
        for i, row in enumerate(zip(*columns, strict=True)):
            values = sorted((name, _plain(values[i])) for name, (present, values) in inputs.items() if present[i])
            found.append((*row, values))
    return found


@pytest.mark.parametrize("where", FILTERS.values(), ids=FILTERS.keys())
@pytest.mark.parametrize(
    ("limit", "part_rows", "newest_rows"), [(10**9, 10_000, None), (137, 7, None), (10**9, 64, 500)]
)
def test_read_blocks_hold_read_logs_rows_in_its_order(sessions, where, limit, part_rows, newest_rows):
    with sessions() as session:
        rows = [
            row
            for part in read_log(
                session, columns=COLUMNS, where=where, limit=limit, newest_rows=newest_rows, raw_times=True
            )
            for row in part
        ]
        blocks = list(
            read_blocks(
                session, columns=COLUMNS, where=where, limit=limit, newest_rows=newest_rows, part_rows=part_rows
            )
        )

    assert _block_values(blocks) == _row_values(rows)
    assert [len(block) for block in blocks[:-1]] == [part_rows] * (len(blocks) - 1)
    assert all(0 < len(block) <= part_rows for block in blocks)
    if where is FILTERS["everything"] and limit > 10**6 and newest_rows is None:
        # What the log holds (the damaged chunk left out): rows of both tables, at times they share.
        times = [{row[1] for row in rows if (row[0] > 0) is per_row} for per_row in (True, False)]
        assert len(rows) > 5_000
        assert len(times[0] & times[1]) > 10


def test_read_columns_gives_one_block_of_the_columns_asked_for(sessions):
    where = FILTERS["one version"]
    with sessions() as session:
        block = read_columns(session, columns=("created_at", "customer_id"), where=where, limit=300)
        none = read_columns(session, columns=("created_at", "customer_id"), where=FILTERS["nothing"], limit=300)
        rows = [row for part in read_log(session, columns=("customer_id",), where=where, limit=300) for row in part]

    assert (len(block), set(block.columns), block.inputs) == (300, {"created_at", "customer_id"}, {})
    assert block.columns["customer_id"].tolist() == [customer_id for (customer_id,) in rows]
    assert (len(none), none.columns["created_at"].dtype, none.columns["customer_id"].dtype) == (0, np.int64, object)


def test_read_blocks_refuse_a_column_they_do_not_hold(sessions):
    with sessions() as session, pytest.raises(ValueError, match="segment_name"):
        next(read_blocks(session, columns=("segment_name",), where=LogFilter(), limit=10))


def test_read_blocks_read_sqlite_times_in_another_form_as_read_log_does(tmp_path):
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    write_random_log(url, seed=8, requests=150)
    engine = create_db_engine(url)
    try:
        # Rows written by hand: whole seconds without a fraction, a "T" between date and time.
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "UPDATE prediction_log SET created_at = substr(created_at, 1, 19) WHERE id % 3 = 0"
            )
            connection.exec_driver_sql(
                "UPDATE prediction_log SET created_at = replace(created_at, ' ', 'T') WHERE id % 5 = 0"
            )
        with session_factory(engine)() as session:
            rows = [
                row
                for part in read_log(session, columns=COLUMNS, where=LogFilter(), limit=10**9, raw_times=True)
                for row in part
            ]
            blocks = list(read_blocks(session, columns=COLUMNS, where=LogFilter(), limit=10**9))
    finally:
        engine.dispose()

    assert _block_values(blocks) == _row_values(rows)
    assert any(row[1].microsecond for row in rows) and any(row[0] % 3 == 0 for row in rows)


def test_read_blocks_read_sqlite_times_a_part_at_a_time(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    write_random_log(url, seed=9, requests=150)
    converted = []
    monkeypatch.setattr(log_columns, "micros", lambda moment: converted.append(moment) or micros(moment))
    engine = create_db_engine(url)
    try:
        with session_factory(engine)() as session:
            rows = sum(map(len, read_blocks(session, columns=("created_at",), where=LogFilter(), limit=10**9)))
            chunks = session.scalar(select(func.count()).select_from(PredictionChunk))
    finally:
        engine.dispose()

    # A chunk's time is converted once, and once more where the merge meets it; per-row times never one by one.
    assert rows > 2 * chunks
    assert len(converted) <= 2 * chunks
