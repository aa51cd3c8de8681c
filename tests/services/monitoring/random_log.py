"""A randomised prediction log written as the service writes it, for tests that hold the log's readers to a reference.

Batches of 50 rows or more become `prediction_chunks` rows, smaller ones and singles rows of `prediction_log`. Times
sit on a coarse grid, so chunks and per-row rows often share one; they are submitted a little out of time order, so
per-row ids do not follow time. Two versions and two segmentations are mixed, customer ids repeat and are missing
(in some rows, or for a whole batch), a few singles lack a feature, a few inputs are NaN, and one chunk is damaged.
"""

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import select, update

from app.db.migrate import upgrade_database
from app.db.session import create_db_engine
from app.db.tables import PredictionChunk
from app.services.monitoring.log_rows import LogChunk
from app.services.monitoring.prediction_log import PredictionLogWriter

START = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
VERSIONS = ("v1", "v2")
SEGMENTATIONS = ("default", "crm")
FEATURES = ("annual_income", "spending_score")
NAMES = {segment_id: f"S{segment_id}" for segment_id in range(7)}


def _moment(rng: np.random.Generator) -> datetime:
    """A time within two weeks of START: half of them one of a few busy moments (ties), the others on a ten-minute
    grid, a fifth of those to the microsecond."""
    if rng.random() < 0.5:
        return START + timedelta(hours=int(rng.integers(-48, 336)) // 8 * 8)
    at = START + timedelta(minutes=10 * int(rng.integers(-2 * 144, 14 * 144)))
    return at + timedelta(microseconds=int(rng.integers(1, 10**6))) if rng.random() < 0.2 else at


def _chunk(rng: np.random.Generator, number: int) -> LogChunk:
    kind = rng.random()
    n = int(rng.integers(50, 300)) if kind < 0.3 else int(rng.integers(2, 49)) if kind < 0.4 else 1
    features = FEATURES[:1] if n == 1 and rng.random() < 0.1 else FEATURES
    inputs = rng.uniform(1, 140, (n, len(features)))
    inputs[rng.random(inputs.shape) < 0.02] = np.nan
    ids = None
    if rng.random() < 0.85:
        # A small pool of customers, so one comes back within a bucket; about a fifth of the rows carry no id.
        ids = [None if rng.random() < 0.2 else f"C{int(rng.integers(0, 60))}" for _ in range(n)]
    return LogChunk(
        created_at=_moment(rng),
        model_version=str(rng.choice(VERSIONS, p=[0.8, 0.2])),
        features=features,
        inputs=inputs,
        segment_ids=rng.integers(0, 5 if rng.random() < 0.7 else 7, n),
        distances=rng.uniform(0, 3, n),
        confidences=rng.uniform(0, 1, n),
        atypical=rng.random(n) < 0.1,
        out_of_range=rng.random(n) < 0.05,
        segment_names=NAMES,
        request_id=None if rng.random() < 0.2 else f"r-{number % 40}",
        source="single" if n == 1 else "batch",
        segmentation=str(rng.choice(SEGMENTATIONS, p=[0.8, 0.2])),
        customer_ids=ids,
    )


def write_random_log(url: str, *, seed: int, requests: int = 400) -> int:
    """Migrate the database at `url` and log `requests` random requests in it; return the rows written."""
    rng = np.random.default_rng(seed)
    chunks = sorted((_chunk(rng, number) for number in range(requests)), key=lambda chunk: chunk.created_at)
    # A little out of time order, as a queue fed by several requests at once writes them.
    for i in range(len(chunks) - 1):
        if rng.random() < 0.3:
            chunks[i], chunks[i + 1] = chunks[i + 1], chunks[i]
    upgrade_database(url)
    engine = create_db_engine(url)
    try:
        # Retention is not under test: the writer would purge these old times against today's clock.
        writer = PredictionLogWriter(engine, max_rows=10**7, retention_days=36_500)
        writer.start()
        for chunk in chunks:
            writer.submit(chunk)
        assert writer.flush(timeout=60)
        writer.stop()
        assert writer.dropped == 0
        with engine.begin() as connection:
            damaged = connection.scalar(select(PredictionChunk.id).order_by(PredictionChunk.id).limit(1).offset(3))
            connection.execute(update(PredictionChunk).where(PredictionChunk.id == damaged).values(payload=b"PLC1"))
    finally:
        engine.dispose()
    return writer.written
