"""Chunk storage: a large chunk stored as one prediction_chunks row reads, for every reader of the log, exactly as
the same predictions stored a row each; on SQLite and on PostgreSQL."""

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from alembic import command
from sqlalchemy import func, inspect, select

from app.db.migrate import alembic_config, upgrade_database
from app.db.session import create_db_engine, session_factory
from app.db.tables import PredictionChunk, PredictionLog
from app.models.versions import challenger as challengers
from app.models.versions.registry import ModelRegistry
from app.models.versions.store import VersionStore
from app.services.challenger.report import report
from app.services.experiments.outcomes import _last_predictions
from app.services.monitoring import reads
from app.services.monitoring import timeseries as series
from app.services.monitoring.log_columns import read_columns
from app.services.monitoring.log_reader import LogFilter, count, count_by, customers_below, newest_by_customer, read_all
from app.services.monitoring.log_rows import LogChunk, log_scores
from app.services.monitoring.prediction_log import CHUNK_FROM_ROWS, PredictionLogWriter
from app.services.proposals.candidate import logged_customers
from tests.db.reading import logged_rows
from tests.log_chunks import ChunkList

# A fixed moment within the retention period (the purge keeps 30 days back from the clock).
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
# Chunks stored as one row each, or (chunk storage off) a row per prediction.
PATHS = {"chunks": CHUNK_FROM_ROWS, "per-row": 10**9}


def _customers(n: int, seed: int) -> np.ndarray:
    # Whole numbers: SQLite's json_object keeps 15 significant digits of a per-row input, a chunk all 17.
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.integers(15, 137, n), rng.integers(1, 99, n)]).astype(np.float64)


def _chunks(champion: Any, challenger: Any) -> list[LogChunk]:
    """A day's traffic: shadow batches with ids (some repeated, some missing), singles, a batch without ids, another
    segmentation's batch, a split arm's batch, and a batch past the retention period."""
    sink = ChunkList()

    def log(model: Any, X: np.ndarray, at: datetime, **options: Any) -> None:
        log_scores(sink, model, X, model.score(X), source="batch" if len(X) > 1 else "single", **options)
        sink.chunks[-1].created_at = at

    def shadow(X: np.ndarray) -> tuple[str, list[int]]:
        return challenger.version, [challenger.segments[p].segment_id for p in challenger.score(X).positions.tolist()]

    batch = _customers(300, seed=1)
    ids = [None if i % 7 == 0 else f"C{i % 250}" for i in range(300)]
    at = NOW - timedelta(hours=5)
    log(champion, batch, at, request_id="b-1", customer_ids=ids, arm="champion", shadow=shadow(batch))
    for i in range(20):
        one = batch[i : i + 1] + 1
        log(champion, one, at + timedelta(minutes=i + 1), request_id=f"s-{i}", customer_ids=[f"C{i}"], arm="champion")
    log(champion, _customers(120, seed=2), NOW - timedelta(hours=3), request_id="b-2")
    log(champion, _customers(80, seed=3), NOW - timedelta(hours=2), request_id="b-3", segmentation="loyalty")
    split = _customers(90, seed=4)
    split_ids = [f"C{i}" for i in range(90)]
    log(challenger, split, NOW - timedelta(hours=1), request_id="b-4", customer_ids=split_ids, arm="challenger")
    log(champion, _customers(60, seed=5), NOW - timedelta(days=40), request_id="b-old", customer_ids=["C1"] * 60)
    log(champion, _customers(55, seed=6), NOW - timedelta(minutes=30), request_id="b-5", customer_ids=["C3"] * 55)
    log(champion, _customers(1, seed=7), NOW - timedelta(minutes=29), request_id="s-x", customer_ids=["C3"])
    # Written in the order they were answered, as the writer's queue does.
    return sorted(sink.chunks, key=lambda chunk: chunk.created_at)


def _write(url: str, chunks: list[LogChunk], chunk_from_rows: int) -> PredictionLogWriter:
    upgrade_database(url)
    # Retention is left to the readers' comparison: the writer purges on its own after writing.
    writer = PredictionLogWriter(
        create_db_engine(url), max_rows=10_000, retention_days=3_650, chunk_from_rows=chunk_from_rows
    )
    writer.start()
    for chunk in chunks:
        writer.submit(chunk)
    assert writer.flush(timeout=30)
    writer.stop()
    assert (writer.written, writer.dropped) == (sum(map(len, chunks)), 0)
    return writer


def _answers(url: str, registry: ModelRegistry, champion: Any, features: list[str]) -> dict[str, Any]:
    """What every reader of the log says about the database at `url`."""
    engine = create_db_engine(url)
    since, until = NOW - timedelta(days=1), NOW
    try:
        with session_factory(engine)() as session:
            found = {
                "drift by rows": reads.drift(session, champion, window=250, now=NOW),
                "drift by time": reads.drift(session, champion, since=since, until=until, now=NOW),
                "volume": reads.prediction_volume(session, champion, since=since, until=until, now=NOW),
                "timeseries": series.timeseries(session, champion, bucket="hour", since=since, until=until, now=NOW),
                "challenger": report(session=session, registry=registry, segmentation="default", window=200),
                "outcomes": _last_predictions(session, "default", [f"C{i}" for i in range(260)] + ["nobody"]),
                "customers": customers_below(session, where=LogFilter(segmentation="default"), enough=10**9),
                "candidate": logged_customers(session, segmentation="default", features=features, since=since),
                "by arm": count_by(session, "arm", where=LogFilter(segmentation="default")),
                "count": count(session, where=LogFilter()),
                "rows": [vars(row) | {"ref": None} for row in logged_rows(url)],
            }
        found["candidate"] = found["candidate"].tolist()
        found["purged"] = PredictionLogWriter(engine, max_rows=1, retention_days=30).purge()
        with session_factory(engine)() as session:
            found["after purge"] = count(session, where=LogFilter())
        return found
    finally:
        engine.dispose()


def _urls(database_url: str, postgres_or_none: Any) -> list[str]:
    if database_url.startswith("sqlite"):
        return [database_url, database_url.replace("log.sqlite3", "other.sqlite3")]
    return [database_url, postgres_or_none.create_database()]


def test_every_reader_answers_the_same_from_chunks_as_from_rows(database_url, request, two_versions):
    root, first, second = two_versions
    challengers.write_setting(
        root,
        {"version": second, "mode": "shadow", "share": 0.0, "set_at": (NOW - timedelta(days=2)).isoformat()},
        event="set",
        reason="test",
        key=None,
    )
    registry = ModelRegistry(VersionStore(root)).load()
    champion, challenger = registry.get(), registry.get(second)
    assert champion.version == first
    chunks = _chunks(champion, challenger)
    other = None if database_url.startswith("sqlite") else request.getfixturevalue("postgres")
    urls = dict(zip(PATHS, _urls(database_url, other), strict=True))
    answers = {}
    for path, url in urls.items():
        _write(url, chunks, PATHS[path])
        engine = create_db_engine(url)
        with engine.connect() as connection:
            stored = [connection.scalar(select(func.count()).select_from(t)) for t in (PredictionLog, PredictionChunk)]
        engine.dispose()
        # The paths differ in storage: each large chunk one row, or a row per prediction.
        assert stored == ([21, 6] if path == "chunks" else [sum(map(len, chunks)), 0])
        answers[path] = _answers(url, registry, champion, list(champion.features))

    chunked, per_row = answers["chunks"], answers["per-row"]
    assert chunked.keys() == per_row.keys()
    for reader in chunked:
        assert chunked[reader] == per_row[reader], reader
    # What the readers say is what the traffic was, not two equal mistakes.
    assert chunked["count"] == sum(map(len, chunks)) and chunked["purged"] == 60
    assert chunked["by arm"] == {"champion": 300 + 20, None: 120 + 60 + 55 + 1, "challenger": 90}
    assert chunked["challenger"]["n_paired"] == 200
    outcomes = chunked["outcomes"]
    # C3's newest is the single after its batch; C10's the split batch after its single; C200 only in the first.
    assert (outcomes["C3"].arm, outcomes["C3"].segment_id) == (None, int(chunks[-1].segment_ids[0]))
    assert (outcomes["C10"].arm, outcomes["C10"].version) == ("challenger", second)
    assert (outcomes["C200"].arm, outcomes["C200"].version) == ("champion", first) and "nobody" not in outcomes


def _tables(url: str) -> set[str]:
    engine = create_db_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migration_0013_adds_the_chunk_table_and_its_downgrade_moves_the_chunks_into_the_per_row_log(database_url):
    upgrade_database(database_url, "0012")
    assert "prediction_chunks" not in _tables(database_url)
    assert upgrade_database(database_url) == "0013"
    chunk = _customers_chunk()
    _write(database_url, [chunk, _single(chunk)], CHUNK_FROM_ROWS)
    before = [vars(row) | {"ref": None} for row in logged_rows(database_url)]
    assert len(before) == len(chunk) + 1
    command.downgrade(alembic_config(database_url), "0012")
    assert "prediction_chunks" not in _tables(database_url) and "prediction_log" in _tables(database_url)
    assert upgrade_database(database_url) == "0013"
    # The chunk's predictions are per-row ones now, each as it was (tests/db/test_migrations.py covers more kinds).
    after = [vars(row) | {"ref": None} for row in logged_rows(database_url)]
    assert sorted(after, key=repr) == sorted(before, key=repr)


def _customers_chunk() -> LogChunk:
    rows = 60
    return LogChunk(
        NOW,
        "v1",
        ("annual_income", "spending_score"),
        _customers(rows, seed=8),
        np.zeros(rows, dtype=np.int64),
        np.ones(rows),
        np.full(rows, 0.5),
        np.zeros(rows, dtype=bool),
        np.zeros(rows, dtype=bool),
        {0: "Average"},
        "batch-1",
        "batch",
        customer_ids=[f"C{i}" for i in range(rows)],
    )


def _single(chunk: LogChunk) -> LogChunk:
    one = chunk.subset(np.arange(len(chunk)) == 0)
    one.request_id, one.source = "one", "single"
    return one


def test_chunks_written_out_of_time_order_read_newest_answered_first(database_url):
    # A scored file's chunks are written once the file succeeds, after a batch answered while it was scoring: the
    # chunk ids then disagree with the times, and readers go by the time the predictions were answered.
    batch = _customers_chunk()
    batch.created_at, batch.request_id = NOW + timedelta(seconds=3), "batch-late"
    parts = []
    for second, name in ((0, "file-1"), (2, "file-2")):
        part = _customers_chunk()
        part.created_at, part.request_id, part.source = NOW + timedelta(seconds=second), name, "csv"
        parts.append(part)
    _write(database_url, [batch, *parts], CHUNK_FROM_ROWS)
    engine = create_db_engine(database_url)
    try:
        with session_factory(engine)() as session:
            rows = read_all(session, columns=("request_id",), where=LogFilter(), limit=len(batch) + 1)
            newest = newest_by_customer(session, segmentation="default", customer_ids=["C5"], columns=("request_id",))
    finally:
        engine.dispose()
    assert [row[0] for row in rows] == ["batch-late"] * len(batch) + ["file-2"]
    assert newest == {"C5": ("batch-late",)}


def test_a_batch_whose_customers_carry_no_id_stores_no_ids(database_url):
    # A batch's answer lists an id for each customer, None for all of them here: the chunk keeps none, so the
    # outcome lookup (which reads the ids of chunks that have some) never reads it.
    chunk = _customers_chunk()
    chunk.customer_ids = [None] * len(chunk)
    _write(database_url, [chunk], CHUNK_FROM_ROWS)
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(select(PredictionChunk.customer_ids)) is None
        with session_factory(engine)() as session:
            rows = read_all(session, columns=("customer_id",), where=LogFilter(), limit=10)
    finally:
        engine.dispose()
    assert rows == [(None,)] * 10


def _truncated(payload: bytes) -> bytes:
    return payload[:-8]


def _other_header(payload: bytes) -> bytes:
    return payload[:8] + b"{" * (len(payload) - 8)


@pytest.mark.parametrize(
    "damage",
    [
        {"payload": _truncated},
        {"payload": _other_header},
        {"payload": lambda payload: b"XXXX" + payload[4:]},
        {"row_count": lambda rows: rows - 1},
        {"customer_ids": lambda ids: ids[:-5]},
        {"customer_ids": lambda ids: b'["C1"]'},
        {"segment_names": lambda names: {"7": "Elsewhere"}},
        {"features": lambda features: ["annual_income"]},
    ],
)
def test_a_damaged_chunk_is_left_out_of_every_read_with_a_warning(database_url, damage, caplog):
    # One damaged row (a disk fault, a hand edit) must not turn every report and drift check into a 500.
    good, damaged = _customers_chunk(), _customers_chunk()
    good.request_id, damaged.request_id, damaged.created_at = "good", "damaged", NOW + timedelta(seconds=1)
    _write(database_url, [good, damaged], CHUNK_FROM_ROWS)
    engine = create_db_engine(database_url)
    try:
        with engine.begin() as connection:
            (column, change), chunk = next(iter(damage.items())), PredictionChunk.__table__
            value = connection.scalar(select(chunk.c[column]).where(chunk.c.request_id == "damaged"))
            value = bytes(value) if isinstance(value, memoryview) else value
            connection.execute(chunk.update().where(chunk.c.request_id == "damaged").values({column: change(value)}))
        columns = ("request_id", "segment_name", "inputs", "customer_id")
        with session_factory(engine)() as session:
            rows = read_all(session, columns=columns, where=LogFilter(), limit=1_000)
            newest = newest_by_customer(session, segmentation="default", customer_ids=["C5"], columns=columns[:3])
            customers = customers_below(session, where=LogFilter(), enough=1_000)
    finally:
        engine.dispose()
    assert {row[0] for row in rows} == {"good"} and len(rows) == len(good)
    # Found in the older chunk, as if the damaged one were not there.
    assert newest.keys() == {"C5"} and newest["C5"][0] == "good"
    assert customers == 60
    assert "is damaged and was left out of a read of the log" in caplog.text


def _damage(engine: Any, request_id: str) -> int:
    """Cut the payload of the chunk of `request_id` short; its id."""
    chunk = PredictionChunk.__table__
    with engine.begin() as connection:
        chunk_id, payload = connection.execute(
            select(chunk.c.id, chunk.c.payload).where(chunk.c.request_id == request_id)
        ).one()
        connection.execute(chunk.update().where(chunk.c.id == chunk_id).values(payload=_truncated(bytes(payload))))
    return chunk_id


def test_a_damaged_chunk_is_warned_about_once_however_often_it_is_read(database_url, caplog):
    # The drift evaluator reads every tick, the page and the API every request: one damaged chunk, one line.
    chunks = [_customers_chunk() for _ in range(3)]
    for second, chunk in enumerate(chunks):
        chunk.request_id, chunk.created_at = f"r-{second}", NOW + timedelta(seconds=second)
    _write(database_url, chunks, CHUNK_FROM_ROWS)
    engine = create_db_engine(database_url)

    def read_twice() -> list[str]:
        caplog.clear()
        with session_factory(engine)() as session:
            for _ in range(2):
                read_all(session, columns=("request_id", "customer_id"), where=LogFilter(), limit=1_000)
                read_columns(session, columns=("segment_id",), where=LogFilter(), limit=1_000)
                newest_by_customer(session, segmentation="default", customer_ids=["C5"], columns=("request_id",))
        return [record.getMessage() for record in caplog.records if "is damaged" in record.getMessage()]

    try:
        first = _damage(engine, "r-2")
        said = read_twice()
        assert len(said) == 1 and said[0].startswith(f"prediction chunk {first} is damaged")
        assert read_twice() == []
        second = _damage(engine, "r-1")
        said = read_twice()
        assert len(said) == 1 and said[0].startswith(f"prediction chunk {second} is damaged")
    finally:
        engine.dispose()


def _extra_feature(engine: Any, request_id: str) -> None:
    """Name one feature more in the chunk of `request_id` than its inputs hold."""
    chunk = PredictionChunk.__table__
    with engine.begin() as connection:
        features = [*connection.execute(select(chunk.c.features).where(chunk.c.request_id == request_id)).scalar(), "x"]
        connection.execute(chunk.update().where(chunk.c.request_id == request_id).values(features=features))


@pytest.mark.parametrize("damage", [_damage, _extra_feature], ids=["payload cut short", "inputs not its features"])
def test_a_chunk_every_read_leaves_out_leaves_its_customers_out_of_the_count_for_a_candidate(database_url, damage):
    # Its customer ids still read, but every read of the rows (the candidate's ids and inputs among them) leaves the
    # chunk out: the count a proposal is refused by must not count them (120 customers, or "enough" against 100).
    good, damaged = _customers_chunk(), _customers_chunk()
    damaged.request_id, damaged.created_at = "damaged", NOW + timedelta(seconds=1)
    damaged.customer_ids = [f"C{100 + i}" for i in range(len(damaged))]
    _write(database_url, [good, damaged], CHUNK_FROM_ROWS)
    engine = create_db_engine(database_url)
    try:
        damage(engine, "damaged")
        with session_factory(engine)() as session:
            rows = read_all(session, columns=("customer_id", "inputs"), where=LogFilter(), limit=1_000)
            found = [customers_below(session, where=LogFilter(), enough=enough) for enough in (1_000, 100, 60)]
    finally:
        engine.dispose()
    assert len({row[0] for row in rows}) == 60
    assert found == [60, 60, None]
