"""Challenger assignments: the arm each customer was first given in each run of a challenger, queued on the request
path and written by a thread.

Like the prediction log's writer (app/services/monitoring/prediction_log.py): `submit` only appends to a bounded
queue, and one thread inserts, skipping customers already recorded (by any worker). A database that is away keeps
the rows queued for a retry; a full queue drops new rows and counts them. Customers this worker has already
recorded are remembered (up to a bound), so a returning customer costs a set lookup, not a row. Drops are counted by
reason in a LossTally, as the prediction log's are, and logged as running totals from the writer thread.
"""

import hashlib
import logging
import threading
from collections import deque
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from app.db.errors import db_error_reason
from app.services.monitoring.log_rows import stored_id
from app.services.monitoring.retry import LossTally, ThrottledWarning, database_away
from app.services.shutdown import WorkerThread

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from app.services.monitoring.retry import DatabasePreparation

logger = logging.getLogger(__name__)

FLUSH_INTERVAL = 0.5
MAX_QUEUED = 100_000
# Keys remembered as recorded; past this the memory is cleared (the database skips duplicates anyway).
MAX_REMEMBERED = 1_000_000


def assignment_key(segmentation: str, challenger_version: str, set_at: str, customer_id: object) -> str:
    """The one key of a customer's assignment in one run of a challenger (segmentation, challenger, `set_at`)."""
    # Per run, not per version: a version set again (after a stop, or with another share or mode) may give the
    # customer another arm, and that run's outcomes count in the arm it gave them.
    text = f"{segmentation}\x00{challenger_version}\x00{set_at}\x00{customer_id}"
    return hashlib.sha256(text.encode()).hexdigest()


class AssignmentWriter(WorkerThread):
    """A bounded queue of first assignments and the thread that inserts them."""

    name = "challenger assignments"
    thread_name = "challenger-assignments"

    def __init__(
        self,
        engine: "Engine",
        *,
        database: "DatabasePreparation | None" = None,
        max_rows: int = MAX_QUEUED,
        flush_interval: float = FLUSH_INTERVAL,
    ) -> None:
        self.engine = engine
        self.max_rows = max_rows
        self.flush_interval = flush_interval
        self._database = database
        self._lock = threading.Lock()
        self._rows: deque[dict[str, Any]] = deque()
        self._seen: set[str] = set()
        self._wake = threading.Event()
        self._idle = threading.Condition(self._lock)
        self._busy = False
        self._stopping = False
        self._warning = ThrottledWarning(logger)
        self._losses = LossTally(logger, what="challenger assignments dropped (predictions are still served)")
        self.written = 0

    @property
    def dropped(self) -> int:
        """Assignments dropped since start."""
        return self._losses.total

    @property
    def drops(self) -> dict[str, int]:
        """Assignments dropped since start, by reason."""
        return self._losses.by_reason()

    def submit(
        self,
        *,
        segmentation: str,
        challenger_version: str,
        set_at: str,
        mode: str,
        rows: list[tuple[object, str, str]],
    ) -> None:
        """Queue (customer id, arm, version) rows not recorded in the run (`set_at`) yet; never blocks or raises."""
        now = datetime.now(UTC)
        refused: dict[str, int] = {}
        with self._lock:
            for customer_id, arm, version in rows:
                key = assignment_key(segmentation, challenger_version, set_at, customer_id)
                if key in self._seen:
                    continue
                if self._stopping or len(self._rows) >= self.max_rows:
                    reason = "stopped" if self._stopping else "queue_full"
                    refused[reason] = refused.get(reason, 0) + 1
                    continue
                self._seen.add(key)
                self._rows.append(
                    {
                        "assignment_key": key,
                        "segmentation": segmentation,
                        "customer_id": stored_id(customer_id),
                        "arm": arm,
                        "version": version,
                        "challenger_version": challenger_version,
                        "mode": mode,
                        "first_seen": now,
                    }
                )
            if len(self._seen) > MAX_REMEMBERED:
                self._seen.clear()
        for reason, count in refused.items():
            self._losses.add(count, reason)

    def request_stop(self) -> None:
        """Refuse new rows and have the thread write what is queued (one attempt), then end; never waits."""
        with self._lock:
            self._stopping = True
        self._wake.set()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the queue is written (or given up for now); True when it drained in time."""
        self._wake.set()
        with self._idle:
            return self._idle.wait_for(lambda: not self._rows and not self._busy, timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            with self._lock:
                stopping = self._stopping
            self._write()
            self._losses.report(final=stopping)
            if stopping:
                return

    def _write(self) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        from app.db.statements import insert_skipping_duplicates
        from app.db.tables import ChallengerAssignment

        with self._lock:
            rows = list(self._rows)
            self._rows.clear()
            self._busy = bool(rows)
        try:
            if not rows:
                return
            if self._database is not None and not self._database.ensure():
                self._hold(rows, "the database is not migrated yet")
                return
            table = ChallengerAssignment.__table__
            statement = insert_skipping_duplicates(self.engine.dialect, table, key="assignment_key")
            try:
                with self.engine.begin() as connection:
                    connection.execute(statement, rows)
            except SQLAlchemyError as exc:
                if database_away(exc):
                    self._hold(rows, f"writing failed ({db_error_reason(exc)})")
                else:
                    logger.error("the database refused %d challenger assignments (%s)", len(rows), db_error_reason(exc))
                    self._losses.add(len(rows), "refused")
                return
            self.written += len(rows)
        except Exception:  # a thread that dies would stop recording assignments for good
            logger.exception("the challenger assignment writer failed; %d rows were dropped", len(rows))
            self._losses.add(len(rows), "failed")
        finally:
            with self._idle:
                self._busy = False
                self._idle.notify_all()

    def _hold(self, rows: list[dict[str, Any]], problem: str) -> None:
        """Put rows back at the front of the queue for the next attempt (unless stopping)."""
        with self._lock:
            if self._stopping:
                self._losses.add(len(rows), "stopped")
                return
            self._rows.extendleft(reversed(rows))
        self._warning.add(1, lambda attempts: f"challenger assignments: {problem}; {len(rows)} rows held for a retry")
