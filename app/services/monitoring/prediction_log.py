"""The prediction log writer: rows are queued on the request path and written in batches by one background thread.

Logging never slows or breaks prediction. `submit` only appends to a bounded in-memory queue (no I/O, no waiting).
When the database is down, slow or not migrated yet, a failed batch goes back to the front of the queue and the
writer backs off (0.5 s, doubling up to 8 s) before it tries again, so an outage the queue can hold loses nothing.
Rows are dropped only when the queue cannot hold them, and counted by reason (`prediction_log_dropped_rows_total`):

    queue_full     arrived while the queue (rows waiting and rows held for a retry) was at its bound
    write_failed   refused by the database for the rows themselves, or still unwritable when the writer stopped
    not_migrated   still queued when the writer stopped and the database had never been migrated
    stopped        arrived after the writer stopped
    spool_full     past SCORING_LOG_SPOOL_ROWS of one scored file (counted by the file's spool, not here)

The writer thread logs the running total at most once a minute while rows are being dropped.
"""

import logging
import random
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import orjson

from app.core.metrics import record_log_dropped, record_log_queue
from app.db.errors import db_error_reason
from app.services.monitoring.log_rows import COLUMNS, SHARED_COLUMNS, LogChunk, encode_rows
from app.services.monitoring.retry import WARNING_INTERVAL, LossTally, ThrottledWarning, database_away
from app.services.shutdown import WorkerThread

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from app.services.monitoring.retry import DatabasePreparation

logger = logging.getLogger(__name__)

# Seconds between writes when rows trickle in; a burst wakes the writer at once.
FLUSH_INTERVAL = 0.5
# Rows per INSERT transaction of small chunks (single predictions); a large chunk is one transaction.
WRITE_BATCH_ROWS = 2_000
# Chunks of at least this many rows kept in the per-row table (a writer whose chunk_from_rows is above them) are
# inserted alone, their shared columns bound once: a 10,000-row batch then takes SQLite 85 ms of CPU, not 128 ms.
SHARED_FROM_ROWS = 50
# Chunks of at least this many rows are stored as one `prediction_chunks` row (chunk_codec.py), not a row each:
# SQLite's per-row insert of a 10,000-row batch (JSON unpacking, the inputs object, three indexes) took 40-85 ms
# of CPU, more than serving the request; one columnar row takes ~1 ms. Single predictions keep the per-row table.
CHUNK_FROM_ROWS = 50
# Small chunks the writer encodes at once before it lets go of the GIL for a moment (~0.25 ms of work). Without
# that, one flush of 3,000 single predictions held the event loop back in 5 ms switch intervals for some 25 ms:
# single-predict p99 at 16 connections was ~20 ms with the log on against ~3 ms with it off; now it is ~5 ms.
YIELD_EVERY_CHUNKS = 64
# While the event loop is busy, each yield can cost the writer a switch interval (GIL_SWITCH_MS, 1 ms by default;
# Python's 5 ms would cap it near 12,000 single predictions a second). A pass that took this many chunks or more
# is behind (one holds ~0.5 s of traffic when it keeps up): it encodes them without yielding, to catch up.
YIELD_BELOW_CHUNKS = 10_000
# Seconds between retention runs.
RETENTION_INTERVAL = 3_600.0
# Seconds before retrying after the first failed write, doubled after each further failure up to the maximum: the
# writer comes back within a few seconds of the database, and does not hammer it while it is away.
RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 8.0

_totals_lock = threading.Lock()
_totals = {"queued": 0, "written": 0, "dropped": 0}
# The started writers of this process. The queue gauge is one per process, so it reports their sum: one writer's
# figure must not overwrite another's (tests run several apps in one process).
_live_writers: "weakref.WeakSet[PredictionLogWriter]" = weakref.WeakSet()


def log_counters() -> dict[str, int]:
    """Process-wide totals of rows queued, written and dropped by every writer (for metrics)."""
    with _totals_lock:
        return dict(_totals)


def _add_total(name: str, rows: int) -> None:
    with _totals_lock:
        _totals[name] += rows


def _let_go() -> None:
    """Release the GIL for a moment: a request waiting for it gets a chance to run now, not after the interval."""
    time.sleep(0)


def publish_log_queue() -> None:
    """Set the queue gauge to the rows every started writer of this process holds now."""
    with _totals_lock:
        writers = list(_live_writers)
    record_log_queue(sum(writer.pending for writer in writers))


class PredictionLogWriter(WorkerThread):
    """A bounded queue of logged predictions and the one thread that writes them (and retries them). Told to stop,
    it writes what is queued (one attempt; what the database refuses is dropped), then ends."""

    name = "prediction log"
    thread_name = "prediction-log-writer"

    def __init__(
        self,
        engine: "Engine",
        *,
        max_rows: int,
        sample: float = 1.0,
        retention_days: int = 30,
        database: "DatabasePreparation | None" = None,
        flush_interval: float = FLUSH_INTERVAL,
        retry_seconds: float = RETRY_SECONDS,
        max_retry_seconds: float = MAX_RETRY_SECONDS,
        report_interval: float = WARNING_INTERVAL,
        chunk_from_rows: int | None = None,
    ) -> None:
        self.engine = engine
        self.max_rows = max_rows
        self.sample = sample
        self.retention_days = retention_days
        self.flush_interval = flush_interval
        self.retry_seconds = retry_seconds
        self.max_retry_seconds = max_retry_seconds
        self._database = database
        # Read here rather than at import, so a test or the benchmark can set the module's constant for the path.
        self.chunk_from_rows = CHUNK_FROM_ROWS if chunk_from_rows is None else chunk_from_rows
        self._lock = threading.Lock()
        self._chunks: deque[LogChunk] = deque()
        self._pending = 0
        # Rows taken by the writer and not yet written: they count against `max_rows` until written or dropped.
        self._in_flight = 0
        self._wake = threading.Event()
        self._idle = threading.Condition(self._lock)
        self._stopping = False
        self._next_retention = 0.0
        self._failures = 0
        self._next_attempt = 0.0
        self._failure_warning = ThrottledWarning(logger)
        self._losses = LossTally(
            logger, what="prediction log rows dropped (predictions are still served)", interval=report_interval
        )
        self.written = 0

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
            if self._stopping:
                refused: str | None = "stopped"
            elif self._pending + self._in_flight + rows > self.max_rows:
                refused = "queue_full"
            else:
                refused = None
                self._chunks.append(chunk)
                self._pending += rows
        if refused is not None:
            self.count_dropped(rows, reason=refused)
            return
        _add_total("queued", rows)
        if rows >= WRITE_BATCH_ROWS // 5:
            self._wake.set()

    def count_dropped(self, rows: int, *, reason: str) -> None:
        """Count rows lost for `reason` (see the module docstring); the writer thread logs them."""
        _add_total("dropped", rows)
        self._losses.add(rows, reason)
        record_log_dropped(reason=reason, rows=rows)

    # -- lifecycle ---------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread."""
        with _totals_lock:
            _live_writers.add(self)
        super().start()

    def request_stop(self) -> None:
        """Refuse new rows and have the thread write what is queued (one attempt), then end; never waits."""
        with self._lock:
            self._stopping = True
        self._wake.set()

    def join(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the thread to end after `request_stop`; True if it has."""
        ended = super().join(timeout)
        if ended:
            # A thread still writing past the timeout still holds its rows: they stay in the gauge.
            with _totals_lock:
                _live_writers.discard(self)
        publish_log_queue()
        self.engine.dispose()
        return ended

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
        """Rows queued and not yet written (those held for a retry included)."""
        # Under the lock: the writer moves rows from one count to the other, and /metrics reads from another thread.
        with self._lock:
            return self._pending + self._in_flight

    @property
    def backoff(self) -> float:
        """Seconds the writer waits after its last failed attempt before the next (0 while writes succeed)."""
        if not self._failures:
            return 0.0
        return min(self.max_retry_seconds, self.retry_seconds * 2 ** (self._failures - 1))

    @property
    def dropped(self) -> int:
        """Rows dropped since start."""
        return self._losses.total

    @property
    def drops(self) -> dict[str, int]:
        """Rows dropped since start, by reason."""
        return self._losses.by_reason()

    # -- writer thread -----------------------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            with self._lock:
                stopping = self._stopping
            # After a failure the writer waits out its back-off: a burst of requests does not hammer a down database.
            if stopping or time.monotonic() >= self._next_attempt:
                self._write_queued(final=stopping)
            publish_log_queue()
            self._losses.report(final=stopping)
            if stopping:
                return
            self._maybe_purge()

    def _write_queued(self, *, final: bool) -> None:
        with self._lock:
            chunks = list(self._chunks)
            self._chunks.clear()
            self._in_flight += self._pending
            self._pending = 0
        try:
            unwritten = self._write(chunks) if chunks else []
        except Exception:  # an unexpected failure must not end the thread: its rows are lost, later ones are written
            logger.exception("the prediction log writer failed; the rows it held were dropped")
            self._release(self._in_flight, dropped="write_failed")
            return
        with self._idle:
            if unwritten and not final:
                # Back to the front of the queue, ahead of newer rows: they were counted against the bound all along.
                held = sum(map(len, unwritten))
                self._chunks.extendleft(reversed(unwritten))
                self._pending += held
                self._in_flight -= held
                unwritten = []
            self._idle.notify_all()
        if unwritten:
            # Stopping with the database still away: nothing will write these rows.
            reason = "not_migrated" if self._database is not None and not self._database.ready else "write_failed"
            self._release(sum(map(len, unwritten)), dropped=reason)

    def _ready(self) -> bool:
        """Whether the database is migrated (the shared preparation retries while it is unreachable)."""
        return self._database is None or self._database.ensure()

    def _write(self, chunks: list[LogChunk]) -> list[LogChunk]:
        """Write the chunks in batches; return those a failure worth retrying (the database away) left unwritten."""
        if not self._ready():
            self._failed("the database is not migrated yet", sum(map(len, chunks)))
            return chunks
        start = 0
        while start < len(chunks):
            if len(chunks[start]) >= self.chunk_from_rows:
                end, rows = start + 1, len(chunks[start])
                problem = self._insert_chunk(chunks[start])
            else:
                end, statement, parameters, rows = self._batch(chunks, start)
                problem = self._insert(statement, parameters, rows)
            if problem == "retry":
                return chunks[start:]
            self._release(rows, dropped="write_failed" if problem else None)
            start = end
        if self._failures:
            logger.warning("prediction log writes succeed again after %d failed attempts", self._failures)
            self._failures, self._next_attempt = 0, 0.0
        return []

    def _batch(self, chunks: list[LogChunk], start: int) -> tuple[int, str, tuple, int]:
        """The next INSERT from chunks[start:]: where it ends, its statement and parameters, and its rows.

        A large chunk goes alone, its shared columns bound once; smaller ones (single predictions) go together,
        consecutive ones with one model's features, up to WRITE_BATCH_ROWS rows.
        """
        # The database layer is imported by the writer thread, not at import: the CLI scores through the
        # request-path half of this module (LogChunk, log_scores) and never needs SQLAlchemy.
        from app.db.statements import prediction_log_insert as insert

        dialect = self.engine.dialect
        sqlite = dialect.name == "sqlite"
        first = chunks[start]
        if len(first) >= SHARED_FROM_ROWS:
            values, encoded = encode_rows([first], sqlite=sqlite, shared=SHARED_COLUMNS)
            statement = insert(dialect, COLUMNS, first.features, SHARED_COLUMNS)
            return start + 1, statement, (*values, orjson.dumps(encoded).decode()), len(encoded)
        # Rows become Python tuples a batch at a time: all of a full queue at once (100,000 rows) took ~40 MB that
        # the process kept after a burst of batch requests.
        end, rows = start, 0
        while (
            end < len(chunks)
            and chunks[end].features == first.features
            and len(chunks[end]) < min(SHARED_FROM_ROWS, self.chunk_from_rows)
            and rows < WRITE_BATCH_ROWS
        ):
            rows += len(chunks[end])
            end += 1
        yielding = len(chunks) < YIELD_BELOW_CHUNKS
        step = YIELD_EVERY_CHUNKS if yielding else end - start
        batch: list[tuple] = []
        for at in range(start, end, step):
            if at > start:
                _let_go()
            batch += encode_rows(chunks[at : min(at + step, end)], sqlite=sqlite)[1]
        return end, insert(dialect, COLUMNS, first.features), (orjson.dumps(batch).decode(),), len(batch)

    def _insert_chunk(self, chunk: LogChunk) -> str | None:
        """Insert a large chunk as one `prediction_chunks` row (what `_insert` returns)."""
        from sqlalchemy import insert

        from app.db.tables import PredictionChunk
        from app.services.monitoring.chunk_codec import encode_chunk

        try:
            row = encode_chunk(chunk)
        except (TypeError, ValueError):
            # Values the payload cannot hold (rows of unequal length): as a refusal by the database, dropped.
            logger.error("prediction log chunk of %d rows could not be encoded; dropped", len(chunk))
            return "drop"
        return self._run_write(lambda connection: connection.execute(insert(PredictionChunk), row), len(chunk))

    def _insert(self, statement: str, parameters: tuple, rows: int) -> str | None:
        """Insert one batch: None when written, "retry" when the database is away, "drop" when it refused the rows."""
        return self._run_write(lambda connection: connection.exec_driver_sql(statement, parameters), rows)

    def _run_write(self, write: Callable[["Connection"], object], rows: int) -> str | None:
        """Run one write in a transaction: None when done, "retry" when the database is away, "drop" when refused."""
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with self.engine.begin() as connection:
                write(connection)
        except SQLAlchemyError as exc:
            if database_away(exc):
                self._failed(f"writing failed ({db_error_reason(exc)})", self.pending)
                return "retry"
            # The rows themselves (a constraint, a value the column refuses): retrying would block the queue forever.
            logger.error("the database refused %d prediction log rows (%s); dropped", rows, db_error_reason(exc))
            return "drop"
        return None

    def _failed(self, problem: str, held: int) -> None:
        """Back off exponentially, up to `max_retry_seconds`, before the next attempt."""
        self._failures += 1
        delay = self.backoff
        self._next_attempt = time.monotonic() + delay
        self._failure_warning.add(
            1,
            lambda attempts: (
                f"prediction log: {problem}; {held} rows held for a retry in {delay:g} s "
                f"({attempts} failed attempts since the last warning); predictions are still served"
            ),
        )

    def _release(self, rows: int, *, dropped: str | None) -> None:
        """Rows the writer is done with: written, or dropped for `dropped`."""
        with self._idle:
            self._in_flight -= rows
            if dropped is None:
                self.written += rows
            self._idle.notify_all()
        if dropped is None:
            _add_total("written", rows)
        else:
            self.count_dropped(rows, reason=dropped)

    def _maybe_purge(self) -> None:
        now = time.monotonic()
        if now < self._next_retention or not (self._database is None or self._database.ready):
            return
        self._next_retention = now + RETENTION_INTERVAL
        self.purge()

    def purge(self) -> int:
        """Delete rows older than the retention period; returns how many went (0 when the database is down)."""
        from sqlalchemy import delete, func, select
        from sqlalchemy.exc import SQLAlchemyError

        from app.db.tables import PredictionChunk, PredictionLog

        cutoff = datetime.now(UTC) - timedelta(days=self.retention_days)
        old = PredictionChunk.created_at < cutoff
        try:
            with self.engine.begin() as connection:
                deleted = connection.execute(delete(PredictionLog).where(PredictionLog.created_at < cutoff)).rowcount
                # Counted in predictions, as the per-row table counts them, in the transaction that deletes them.
                deleted += connection.scalar(select(func.coalesce(func.sum(PredictionChunk.row_count), 0)).where(old))
                connection.execute(delete(PredictionChunk).where(old))
        except SQLAlchemyError as exc:
            logger.warning("prediction log retention did not run: %s", db_error_reason(exc))
            return 0
        if deleted:
            logger.info("prediction log retention deleted %d rows older than %d days", deleted, self.retention_days)
        return deleted


def open_prediction_log(
    *, engine: "Engine", database: "DatabasePreparation", max_rows: int, sample: float, retention_days: int
) -> PredictionLogWriter:
    """Start the writer. Never raises: a down database only means rows are dropped (and counted) until it is back."""
    writer = PredictionLogWriter(
        engine, max_rows=max_rows, sample=sample, retention_days=retention_days, database=database
    )
    writer.start()
    return writer
