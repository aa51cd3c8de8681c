"""Background work against a database that may be down: tried again after a pause, warned about once a minute.

The prediction log writer and the activation mirror both keep a server serving while the database is away. They
share this loop's rules: a failure never raises into the request path, the next attempt waits `retry_seconds`,
and the log gets one warning per `WARNING_INTERVAL` (with what accumulated since), not one per failure.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from app.db.errors import db_error_reason

T = TypeVar("T")

WARNING_INTERVAL = 60.0


class ThrottledWarning:
    """A warning logged at most once per interval, carrying the count summed since the previous one."""

    def __init__(self, logger: logging.Logger, *, interval: float = WARNING_INTERVAL) -> None:
        self.logger = logger
        self.interval = interval
        self._lock = threading.Lock()
        self._pending = 0
        self._last = -interval

    def add(self, count: int, message: Callable[[int], str]) -> None:
        """Count `count` more occurrences; log `message(total since the last warning)` when the interval is up."""
        with self._lock:
            self._pending += count
            now = time.monotonic()
            if now - self._last < self.interval:
                return
            self._last = now
            total, self._pending = self._pending, 0
        self.logger.warning(message(total))


def database_away(exc: Exception) -> bool:
    """Whether a database error is one a retry may fix: the database unreachable or slow, not the statement."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class LossTally:
    """Things lost, counted by reason from any thread, and logged as a running total at most once per interval.

    Counting only adds under a lock (the request path may count); `report` does the logging, from a background
    thread that calls it often: the first loss is logged at its next call, later ones at most once per interval
    while losses go on, and the rest at the first call after the interval once they stop.
    """

    def __init__(self, logger: logging.Logger, *, what: str, interval: float = WARNING_INTERVAL) -> None:
        self.logger = logger
        self.what = what
        self.interval = interval
        self._lock = threading.Lock()
        self._by_reason: dict[str, int] = {}
        self._unreported = 0
        self._last = -interval

    def add(self, count: int, reason: str) -> None:
        """Count `count` more lost for `reason`."""
        with self._lock:
            self._by_reason[reason] = self._by_reason.get(reason, 0) + count
            self._unreported += count

    @property
    def total(self) -> int:
        """Everything lost since start."""
        with self._lock:
            return sum(self._by_reason.values())

    def by_reason(self) -> dict[str, int]:
        """Everything lost since start, by reason."""
        with self._lock:
            return dict(self._by_reason)

    def report(self, *, final: bool = False) -> None:
        """Log the losses since the last report and the running total, when the interval is up (or `final`)."""
        now = time.monotonic()
        with self._lock:
            if not self._unreported or (now - self._last < self.interval and not final):
                return
            recent, self._unreported, self._last = self._unreported, 0, now
            total = sum(self._by_reason.values())
            reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(self._by_reason.items()))
        self.logger.warning("%s: %d since the last report, %d since start (%s)", self.what, recent, total, reasons)


class Retry:
    """An operation that may fail while a database is away: attempted when due, paused after each failure."""

    def __init__(self, logger: logging.Logger, *, what: str, retry_seconds: float) -> None:
        self.what = what
        self.retry_seconds = retry_seconds
        self.failures = 0
        self._next_attempt = 0.0
        self._warning = ThrottledWarning(logger)

    def due(self) -> bool:
        """Whether the pause after the last failure is over."""
        return time.monotonic() >= self._next_attempt

    def attempt(self, operation: Callable[[], T]) -> tuple[bool, T | None]:
        """Run `operation` now: (True, its result), or (False, None) after counting and (maybe) warning."""
        try:
            return True, operation()
        except Exception as exc:  # a down, slow or unmigrated database only delays the work
            self.failures += 1
            self._next_attempt = time.monotonic() + self.retry_seconds
            problem = db_error_reason(exc)  # the driver's reason, without the database URL's password
            self._warning.add(1, lambda _: f"{self.what} ({problem}); will retry")
            return False, None


class DatabaseNotReady(RuntimeError):
    """The database could not be migrated yet (it is down, or the migration failed)."""


class DatabasePreparation:
    """The database migrated to head once per process, by whichever background user needs it first.

    The prediction log writer and the activation mirror share one: a worker runs the Alembic upgrade once at
    start, not once per user, and while the database is down the upgrade is retried (every `retry_seconds`) by
    whoever asks next.
    """

    def __init__(self, prepare: Callable[[], object], *, retry_seconds: float, logger: logging.Logger) -> None:
        self._prepare = prepare
        self._lock = threading.Lock()
        self._ready = False
        self._retry = Retry(logger, what="the database is not ready", retry_seconds=retry_seconds)

    @property
    def ready(self) -> bool:
        """Whether the upgrade has run in this process."""
        return self._ready

    def ensure(self, *, force: bool = False) -> bool:
        """Migrate unless done already; when it failed lately, wait for the pause to end unless `force`."""
        with self._lock:
            if self._ready:
                return True
            if not force and not self._retry.due():
                return False
            self._ready, _ = self._retry.attempt(self._prepare)
            return self._ready
