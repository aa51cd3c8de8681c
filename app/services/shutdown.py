"""A server process's background work, stopped against one deadline with the prediction log first.

The prediction log holds customers' predictions that are nowhere else yet: it is told to stop (and so to write
what it queued) first, and waited for first. The other workers are told to stop at the same moment, so they wind
down meanwhile, and each is then waited for only as long as the one deadline leaves: a slow one (a webhook
receiver that hangs, a drift evaluation under way) can neither hold up the log nor add its own timeout to the
others'. A worker still running at the deadline is a daemon thread, left behind when the process exits.
"""

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

logger = logging.getLogger(__name__)

# Seconds for all of it once the server has drained its requests. With GRACEFUL_TIMEOUT (30) and the 5 s preStop
# pause it stays inside the 45 s that Kubernetes and compose give a stopping container before they kill it.
STOP_SECONDS = 8.0
# One start at a time, for every worker: two at once could each find no thread running. Starts are rare.
_starting = threading.Lock()


class Stoppable(Protocol):
    """A background worker that can be told to stop, then waited for."""

    name: str

    def request_stop(self) -> None:
        """Ask the worker to end (writing what it holds); never waits."""

    def join(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the worker to end; True if it has."""


class WorkerThread:
    """A `Stoppable` that is one daemon thread running `_run`: told to stop through the event `_stop` unless a
    subclass says otherwise, and waited for up to `stop_seconds` by `stop`."""

    name: str
    thread_name: str
    stop_seconds = 10.0
    _stop: threading.Event
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread; nothing while it runs (a second thread would share the worker's state)."""
        with _starting:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to end, then wait for it up to `timeout` seconds (`stop_seconds` when not given)."""
        self.request_stop()
        self.join(self.stop_seconds if timeout is None else timeout)

    def request_stop(self) -> None:
        """Have the thread end after the work under way, if any; never waits."""
        self._stop.set()

    def join(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the thread to end; True if it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self._thread is None or not self._thread.is_alive()

    def _run(self) -> None:
        raise NotImplementedError


def stop_all(
    workers: Sequence[Stoppable | None], *, seconds: float | None = None, clock: Callable[[], float] = time.monotonic
) -> list[str]:
    """Tell every worker to stop, in order, then wait for each in the same order until one deadline (`seconds`,
    STOP_SECONDS by default); the names of those still running at it, which are logged. None entries are skipped."""
    present = [worker for worker in workers if worker is not None]
    budget = STOP_SECONDS if seconds is None else seconds
    deadline = clock() + budget
    for worker in present:
        worker.request_stop()
    running = [worker.name for worker in present if not worker.join(max(0.0, deadline - clock()))]
    if running:
        logger.warning("still running %g s into shutdown, left behind: %s", budget, ", ".join(running))
    return running
