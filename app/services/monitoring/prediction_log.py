"""The prediction log writer: rows are queued on the request path and written in batches by one background thread.

Logging never slows or breaks prediction. `submit` only appends to a bounded in-memory queue (no I/O, no waiting);
when the queue is full, or a write fails because the database is down or slow, the rows are dropped and counted,
and a warning is logged at most once a minute.
"""

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from app.models.model import Scores, SegmentationModel
from app.services.monitoring.retry import ThrottledWarning

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from app.services.monitoring.retry import DatabasePreparation

logger = logging.getLogger(__name__)

# Seconds between writes when rows trickle in; a burst wakes the writer at once.
FLUSH_INTERVAL = 0.5
# Rows per INSERT transaction.
WRITE_BATCH_ROWS = 2_000
# Seconds between retention runs.
RETENTION_INTERVAL = 3_600.0

_COLUMNS = (
    "created_at",
    "model_version",
    "inputs",
    "segment_id",
    "segment_name",
    "distance",
    "confidence",
    "is_atypical",
    "out_of_range",
    "request_id",
    "source",
)
_totals_lock = threading.Lock()
_totals = {"queued": 0, "written": 0, "dropped": 0}


def log_counters() -> dict[str, int]:
    """Process-wide totals of rows queued, written and dropped by every writer (for metrics)."""
    with _totals_lock:
        return dict(_totals)


def _add_total(name: str, rows: int) -> None:
    with _totals_lock:
        _totals[name] += rows


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which doubles the cost of queueing
# a single prediction.
@dataclass(slots=True)
class LogChunk:
    """Predictions answered by one request; per-row fields are lists or numpy arrays of equal length."""

    created_at: datetime
    model_version: str
    features: tuple[str, ...]
    inputs: Any  # rows of feature values, shape (n, n_features)
    segment_ids: Any
    distances: Any
    confidences: Any
    atypical: Any
    out_of_range: Any
    segment_names: Mapping[int, str]
    request_id: str | None
    source: str

    def __len__(self) -> int:
        return len(self.segment_ids)

    def rows(self) -> list[dict[str, Any]]:
        """The chunk as parameter rows for SQLAlchemy's `insert()` (inputs as dicts; for tests and small writes)."""
        rows = [dict(zip(_COLUMNS, values, strict=True)) for values in self.tuples(sqlite=False)]
        for row in rows:
            row["inputs"] = dict(zip(self.features, row["inputs"], strict=True))
        return rows

    def tuples(self, *, sqlite: bool) -> list[tuple]:
        """The chunk as rows in `_COLUMNS` order, inputs as lists of feature values (`_insert_statement` names them).

        The writer bypasses SQLAlchemy's per-row type processing (about 50 us a row): a 10,000-row batch is
        encoded here in about a millisecond, so logging stays cheap next to the prediction it records.
        """
        created_at = self.created_at.astimezone(UTC)
        stamp: Any = created_at.replace(tzinfo=None).isoformat(" ", "microseconds") if sqlite else created_at
        segment_ids = _as_list(self.segment_ids)
        # Column by column, joined by zip and map in C: this runs on the writer thread while holding the GIL, so
        # every microsecond per row is taken from the requests (a 10,000-row batch: 6.7 ms as a per-row loop).
        return list(
            zip(
                repeat(stamp),
                repeat(self.model_version),
                _as_list(self.inputs),
                segment_ids,
                map(self.segment_names.__getitem__, segment_ids),
                _as_list(self.distances),
                _as_list(self.confidences),
                _as_bools(self.atypical),
                _as_bools(self.out_of_range),
                repeat(self.request_id),
                repeat(self.source),
                strict=False,  # the repeat() columns are endless; the per-row ones have the chunk's length
            )
        )

    def subset(self, mask: np.ndarray) -> "LogChunk":
        """Only the rows where `mask` is true."""

        def pick(values: Any) -> np.ndarray:
            return np.asarray(values)[mask]

        return LogChunk(
            self.created_at,
            self.model_version,
            self.features,
            pick(self.inputs),
            pick(self.segment_ids),
            pick(self.distances),
            pick(self.confidences),
            pick(self.atypical),
            pick(self.out_of_range),
            self.segment_names,
            self.request_id,
            self.source,
        )


@lru_cache(maxsize=16)
def _segment_lookup(model: SegmentationModel) -> tuple[tuple[str, ...], list[int], dict[int, str]]:
    """Feature names, segment ids by position and names by id, built once per model rather than per request."""
    return tuple(model.features), [s.segment_id for s in model.segments], {s.segment_id: s.name for s in model.segments}


def log_scores(
    writer: "PredictionLogWriter | None",
    model: SegmentationModel,
    X: np.ndarray | Sequence[Sequence[float]],
    scores: Scores,
    *,
    request_id: str | None,
    source: str,
) -> None:
    """Queue answered predictions (X: their rows of feature values) for the log; a no-op when off.

    No I/O here: the writer thread does that.
    """
    if writer is None or (len(X) == 1 and not writer.sampled()):
        return
    features, ids, names = _segment_lookup(model)
    if len(X) == 1:
        # One row: plain lists, since numpy costs more per call than the whole row.
        position = scores.positions.item()
        per_row: tuple = (
            _as_list(X),
            [ids[position]],
            [scores.nearest.item()],
            [scores.confidence.item()],
            [bool(scores.is_atypical.item())],
            [scores.any_out_of_range.item()],
        )
    else:
        per_row = (
            X,
            np.array(ids)[scores.positions],
            scores.nearest,
            scores.confidence,
            scores.is_atypical,
            scores.any_out_of_range,
        )
    writer.submit(LogChunk(datetime.now(UTC), model.version, features, *per_row, names, request_id, source))


def _as_list(values: Any) -> list:
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def _as_bools(values: Any) -> list[bool]:
    return values.astype(bool).tolist() if isinstance(values, np.ndarray) else [bool(value) for value in values]


class PredictionLogWriter:
    """A bounded queue of logged predictions and the one thread that writes them."""

    def __init__(
        self,
        engine: "Engine",
        *,
        max_rows: int,
        sample: float = 1.0,
        retention_days: int = 30,
        database: "DatabasePreparation | None" = None,
        flush_interval: float = FLUSH_INTERVAL,
    ) -> None:
        self.engine = engine
        self.max_rows = max_rows
        self.sample = sample
        self.retention_days = retention_days
        self.flush_interval = flush_interval
        self._database = database
        self._lock = threading.Lock()
        self._chunks: deque[LogChunk] = deque()
        self._pending = 0
        self._in_flight = 0
        self._wake = threading.Event()
        self._idle = threading.Condition(self._lock)
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._next_retention = 0.0
        self._dropped_warning = ThrottledWarning(logger)
        self.written = 0
        self.dropped = 0

    # -- request path: never blocks, never raises -------------------------------------------------------------------

    def sampled(self) -> bool:
        """Whether one prediction is to be logged, by the sampling rate."""
        return self.sample >= 1.0 or random.random() < self.sample

    def submit(self, chunk: LogChunk) -> None:
        """Queue a chunk of rows, sampled row by row; drop and count it when the queue is full."""
        if self.sample < 1.0 and len(chunk) > 1:
            chunk = chunk.subset(np.random.default_rng().random(len(chunk)) < self.sample)
        rows = len(chunk)
        if rows == 0:
            return
        with self._lock:
            if self._pending + rows > self.max_rows or self._stopping:
                full = True
            else:
                full = False
                self._chunks.append(chunk)
                self._pending += rows
        if full:
            self._count_dropped(rows, "the queue is full (the database is down or slow)")
            return
        _add_total("queued", rows)
        if rows >= WRITE_BATCH_ROWS // 5:
            self._wake.set()

    def count_dropped(self, rows: int) -> None:
        """Count rows dropped before they reached the queue (a scored file's spool was full; the caller warns)."""
        _add_total("dropped", rows)
        with self._lock:
            self.dropped += rows

    # -- lifecycle ---------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread."""
        self._thread = threading.Thread(target=self._run, name="prediction-log-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued (within `timeout`), then stop the thread."""
        with self._lock:
            self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.engine.dispose()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued row has been written or dropped; True when the queue drained in time."""
        self._wake.set()
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    @property
    def pending(self) -> int:
        """Rows queued and not yet written."""
        return self._pending

    # -- writer thread -----------------------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            with self._lock:
                stopping = self._stopping
                chunks = list(self._chunks)
                self._chunks.clear()
                rows = self._pending
                self._pending = 0
                self._in_flight = rows
            if chunks:
                self._write(chunks, rows)
            with self._idle:
                self._in_flight = 0
                self._idle.notify_all()
            if stopping:
                return
            self._maybe_purge()

    def _ready(self) -> bool:
        """Whether the database is migrated (the shared preparation retries while it is unreachable)."""
        return self._database is None or self._database.ensure()

    def _write(self, chunks: list[LogChunk], rows: int) -> None:
        # The database layer is imported by the writer thread, not at import: the CLI scores through the
        # request-path half of this module (LogChunk, log_scores) and never needs SQLAlchemy.
        from app.db.statements import prediction_log_insert

        if not self._ready():
            self._count_dropped(rows, "the database could not be prepared")
            return
        dialect = self.engine.dialect
        # Rows become Python tuples a batch at a time: all of a full queue at once (100,000 rows) took ~40 MB
        # that the process kept after a burst of batch requests. A batch holds one model's features.
        batch: list[tuple] = []
        features: tuple[str, ...] = ()
        for chunk in chunks:
            if batch and (len(batch) >= WRITE_BATCH_ROWS or chunk.features != features):
                self._insert(prediction_log_insert(dialect, _COLUMNS, features), batch)
                batch = []
            features = chunk.features
            batch.extend(chunk.tuples(sqlite=dialect.name == "sqlite"))
        if batch:
            self._insert(prediction_log_insert(dialect, _COLUMNS, features), batch)

    def _insert(self, statement: str, batch: list[tuple]) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with self.engine.begin() as connection:
                connection.exec_driver_sql(statement, (orjson.dumps(batch).decode(),))
        except SQLAlchemyError as exc:
            self._count_dropped(len(batch), f"writing failed ({type(exc).__name__})")
            return
        self.written += len(batch)
        _add_total("written", len(batch))

    def _maybe_purge(self) -> None:
        now = time.monotonic()
        if now < self._next_retention or not (self._database is None or self._database.ready):
            return
        self._next_retention = now + RETENTION_INTERVAL
        self.purge()

    def purge(self) -> int:
        """Delete rows older than the retention period; returns how many went (0 when the database is down)."""
        from sqlalchemy import delete
        from sqlalchemy.exc import SQLAlchemyError

        from app.db.tables import PredictionLog

        cutoff = datetime.now(UTC) - timedelta(days=self.retention_days)
        try:
            with self.engine.begin() as connection:
                deleted = connection.execute(delete(PredictionLog).where(PredictionLog.created_at < cutoff)).rowcount
        except SQLAlchemyError as exc:
            logger.warning("prediction log retention did not run: %s", type(exc).__name__)
            return 0
        if deleted:
            logger.info("prediction log retention deleted %d rows older than %d days", deleted, self.retention_days)
        return deleted

    def _count_dropped(self, rows: int, reason: str) -> None:
        _add_total("dropped", rows)
        with self._lock:
            self.dropped += rows
        self._dropped_warning.add(
            rows, lambda dropped: f"prediction log dropped {dropped} rows: {reason}; predictions are still served"
        )


def open_prediction_log(
    *, engine: "Engine", database: "DatabasePreparation", max_rows: int, sample: float, retention_days: int
) -> PredictionLogWriter:
    """Start the writer. Never raises: a down database only means rows are dropped (and counted) until it is back."""
    writer = PredictionLogWriter(
        engine, max_rows=max_rows, sample=sample, retention_days=retention_days, database=database
    )
    writer.start()
    return writer
