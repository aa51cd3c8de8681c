"""The prediction log writer on its own: a bounded queue that retries, drops by reason, sampling, retention."""

import logging
import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pytest
from sqlalchemy import event, func, insert, select

from app.db.migrate import upgrade_database
from app.db.session import create_db_engine
from app.db.tables import PredictionLog
from app.services.monitoring.prediction_log import LogChunk, PredictionLogWriter, log_counters, publish_log_queue
from tests.live_server import wait_for
from tests.recorded import logged_at


def chunk(rows: int, *, created_at: datetime | None = None) -> LogChunk:
    return LogChunk(
        created_at=created_at or datetime.now(UTC),
        model_version="v1",
        features=("annual_income", "spending_score"),
        inputs=np.full((rows, 2), 50.0),
        segment_ids=np.zeros(rows, dtype=int),
        distances=np.ones(rows),
        confidences=np.full(rows, 0.5),
        atypical=np.zeros(rows, dtype=bool),
        out_of_range=np.zeros(rows, dtype=bool),
        segment_names={0: "Average Customer"},
        request_id="r",
        source="batch",
    )


def test_full_queue_drops_and_counts_without_blocking(tmp_path):
    # Not started: nothing drains the queue, as when the database hangs.
    writer = PredictionLogWriter(create_db_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}"), max_rows=10)
    before = log_counters()
    for _ in range(3):
        writer.submit(chunk(4))
    assert writer.pending == 8
    assert writer.dropped == 4
    assert writer.drops == {"queue_full": 4}
    after = log_counters()
    assert after["dropped"] - before["dropped"] == 4
    assert after["queued"] - before["queued"] == 8


def test_rows_are_written_in_batches_by_the_thread(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    upgrade_database(url)
    writer = PredictionLogWriter(create_db_engine(url), max_rows=100_000)
    writer.start()
    for _ in range(5):
        writer.submit(chunk(2_500))
    assert writer.flush()
    writer.stop()
    assert writer.written == 12_500
    assert writer.dropped == 0
    assert logged_at(url) == 12_500


def test_the_queue_gauge_is_the_sum_over_the_started_writers_of_the_process(tmp_path, monkeypatch):
    import app.services.monitoring.prediction_log as prediction_log

    published: list[int] = []
    monkeypatch.setattr(prediction_log, "record_log_queue", published.append)
    publish_log_queue()
    before = published[-1]  # writers other tests left running, if any
    # A minute between writes: the rows stay queued while the gauge is read.
    writers = [
        PredictionLogWriter(create_db_engine(f"sqlite:///{tmp_path / f'{i}.sqlite3'}"), max_rows=100, flush_interval=60)
        for i in range(2)
    ]
    idle = PredictionLogWriter(create_db_engine(f"sqlite:///{tmp_path / 'idle.sqlite3'}"), max_rows=100)
    idle.submit(chunk(5))  # never started: no thread will write these, and the gauge leaves them out
    for writer, rows in zip(writers, (3, 4), strict=True):
        writer.start()
        writer.submit(chunk(rows))
    publish_log_queue()
    assert published[-1] - before == 7
    writers[0].stop()  # its rows cannot be written (no table): dropped, and the writer leaves the sum
    assert writers[0].pending == 0
    assert published[-1] - before == 4
    writers[1].stop()
    assert published[-1] - before == 0


def test_small_chunks_are_encoded_letting_go_of_the_gil_unless_the_writer_is_behind(tmp_path, monkeypatch):
    import app.services.monitoring.prediction_log as prediction_log

    writer = PredictionLogWriter(create_db_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}"), max_rows=100_000)
    singles = [chunk(1) for _ in range(300)]
    let_go: list[int] = []
    monkeypatch.setattr(prediction_log, "_let_go", lambda: let_go.append(1))
    end, _, (rows,), count = writer._batch(singles, 0)
    assert (end, count, len(let_go)) == (300, 300, 4)  # between groups of 64 chunks (the last has 44)
    assert rows == orjson.dumps([row for c in singles for row in c.tuples(sqlite=True)]).decode()
    # More chunks in one pass than the writer takes when it keeps up: it catches up first.
    monkeypatch.setattr(prediction_log, "YIELD_BELOW_CHUNKS", 300)
    let_go.clear()
    assert writer._batch(singles, 0)[0] == 300
    assert let_go == []


def test_sampling_keeps_about_the_share_of_a_chunk(tmp_path):
    writer = PredictionLogWriter(create_db_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}"), max_rows=100_000, sample=0.1)
    writer.submit(chunk(10_000))
    # Binomial(10,000, 0.1): sd 30, so 850..1150 is five sd either way.
    assert 850 <= writer.pending <= 1_150


def test_retention_deletes_only_rows_older_than_the_setting(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    upgrade_database(url)
    engine = create_db_engine(url)
    now = datetime.now(UTC)
    old, recent = chunk(3, created_at=now - timedelta(days=31)), chunk(2, created_at=now - timedelta(days=29))
    with engine.begin() as connection:
        connection.execute(insert(PredictionLog.__table__), old.rows() + recent.rows())
    writer = PredictionLogWriter(engine, max_rows=10, retention_days=30)
    assert writer.purge() == 3
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(PredictionLog)) == 2
    engine.dispose()


class Outage:
    """Makes every write to the log fail as the database would, while `down`; counts the attempts."""

    def __init__(self, engine, error: type[Exception] = sqlite3.OperationalError) -> None:
        self.down = True
        self.error = error
        self.attempts = 0
        self.backoffs: list[float] = []
        self.writer: PredictionLogWriter | None = None
        self.failed = threading.Event()
        event.listen(engine, "before_cursor_execute", self._execute)

    def _execute(self, connection, cursor, statement: str, *args) -> None:
        if not statement.startswith("INSERT"):
            return  # the writer's retention run
        self.attempts += 1
        if self.writer is not None:
            self.backoffs.append(self.writer.backoff)
        if self.down:
            if self.attempts >= 3:
                self.failed.set()
            raise self.error("unable to open database file")


@pytest.fixture
def migrated(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    upgrade_database(url)
    return url


def test_write_failing_holds_rows_and_writes_them_when_the_database_is_back(migrated):
    engine = create_db_engine(migrated)
    outage = Outage(engine)
    writer = PredictionLogWriter(
        engine, max_rows=1_000, flush_interval=0.01, retry_seconds=0.01, max_retry_seconds=0.02
    )
    writer.start()
    for _ in range(3):
        writer.submit(chunk(100))
    assert outage.failed.wait(10)
    assert writer.dropped == 0
    assert writer.pending == 300
    assert writer.flush(timeout=0.05) is False  # held for a retry, not written nor dropped

    outage.down = False
    assert writer.flush()
    writer.stop()
    assert writer.written == 300
    assert writer.dropped == 0
    assert logged_at(migrated) == 300


def test_write_failing_backs_off_exponentially_up_to_the_cap(migrated):
    engine = create_db_engine(migrated)
    outage = Outage(engine)
    writer = PredictionLogWriter(
        engine, max_rows=1_000, flush_interval=0.001, retry_seconds=0.001, max_retry_seconds=0.008
    )
    outage.writer = writer
    writer.start()
    writer.submit(chunk(5))
    while len(outage.backoffs) < 7:
        assert outage.failed.wait(10)
        writer.flush(timeout=0.01)
    writer.stop()
    # The back-off each attempt waited out: none before the first, then doubling until the cap.
    assert outage.backoffs[:7] == [0.0, 0.001, 0.002, 0.004, 0.008, 0.008, 0.008]


def test_rows_past_the_bound_are_dropped_as_queue_full_while_failed_rows_are_held(migrated):
    engine = create_db_engine(migrated)
    outage = Outage(engine)
    writer = PredictionLogWriter(engine, max_rows=250, flush_interval=0.01, retry_seconds=0.01, max_retry_seconds=0.02)
    writer.start()
    writer.submit(chunk(200))
    assert outage.failed.wait(10)
    # The 200 held for a retry still count against the bound.
    writer.submit(chunk(40))
    writer.submit(chunk(40))
    assert writer.pending == 240
    assert writer.drops == {"queue_full": 40}
    outage.down = False
    assert writer.flush()
    writer.stop()
    assert (writer.written, writer.dropped) == (240, 40)
    assert logged_at(migrated) == 240


def test_rows_the_database_refuses_are_dropped_as_write_failed_and_the_queue_goes_on(migrated):
    engine = create_db_engine(migrated)
    outage = Outage(engine, error=sqlite3.IntegrityError)
    writer = PredictionLogWriter(engine, max_rows=10_000, flush_interval=0.01)
    writer.submit(chunk(10))
    writer.start()
    assert writer.flush()
    outage.down = False
    writer.submit(chunk(7))
    assert writer.flush()
    writer.stop()
    assert writer.drops == {"write_failed": 10}
    assert writer.written == 7
    assert logged_at(migrated) == 7


@pytest.mark.parametrize("migrated_before", [True, False])
def test_stop_with_the_database_away_drops_what_is_held_by_reason(tmp_path, migrated_before):
    class Preparation:
        ready = migrated_before

        def ensure(self) -> bool:
            return self.ready

    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    upgrade_database(url)
    engine = create_db_engine(url)
    outage = Outage(engine)
    writer = PredictionLogWriter(engine, max_rows=1_000, database=Preparation(), flush_interval=0.01)
    writer.start()
    writer.submit(chunk(30))
    assert writer.flush(timeout=0.2) is False
    writer.stop()
    writer.submit(chunk(2))
    expected = {"write_failed": 30} if migrated_before else {"not_migrated": 30}
    assert writer.drops == expected | {"stopped": 2}
    assert writer.pending == 0
    assert outage.attempts >= (1 if migrated_before else 0)


def test_drops_are_logged_with_the_running_total(migrated, caplog):
    writer = PredictionLogWriter(create_db_engine(migrated), max_rows=10, flush_interval=0.01, report_interval=3_600)
    writer.start()

    def lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if "rows dropped" in r.getMessage()]

    with caplog.at_level(logging.WARNING, logger="app.services.monitoring.prediction_log"):
        writer.submit(chunk(20))
        assert wait_for(lines, 10) is not None
        writer.submit(chunk(30))
        writer.stop()
    # The first drop at once; the later one, within the interval, when the writer stops.
    assert lines() == [
        "prediction log rows dropped (predictions are still served): 20 since the last report, 20 since start "
        "(queue_full 20)",
        "prediction log rows dropped (predictions are still served): 30 since the last report, 50 since start "
        "(queue_full 50)",
    ]


def test_an_unexpected_write_error_drops_those_rows_and_the_writer_goes_on(tmp_path, monkeypatch, caplog):
    import app.services.monitoring.prediction_log as prediction_log

    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    upgrade_database(url)
    writer = PredictionLogWriter(create_db_engine(url), max_rows=1_000)
    writer.start()
    real = prediction_log.orjson.dumps

    def broken(*args, **kwargs):
        raise TypeError("an unexpected value")

    try:
        monkeypatch.setattr(prediction_log.orjson, "dumps", broken)
        writer.submit(chunk(3))
        assert writer.flush()
        assert writer.written == 0 and writer.pending == 0 and writer.drops == {"write_failed": 3}
        monkeypatch.setattr(prediction_log.orjson, "dumps", real)
        writer.submit(chunk(2))
        assert writer.flush()  # the thread is still there: the next rows are written
        assert writer.written == 2
    finally:
        writer.stop()
    assert any("writer failed" in record.getMessage() for record in caplog.records)
