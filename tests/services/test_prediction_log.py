"""The prediction log writer on its own: a bounded queue that drops and counts, sampling, retention."""

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import func, insert, select

from app.db.migrate import upgrade_database
from app.db.session import create_db_engine
from app.db.tables import PredictionLog
from app.services.monitoring.prediction_log import LogChunk, PredictionLogWriter, log_counters


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
    engine = create_db_engine(url)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(PredictionLog)) == 12_500
    engine.dispose()


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
