"""Stopping the background work: every worker told at once, waited for in order against one deadline."""

import logging
import threading
from datetime import UTC, datetime

import numpy as np
import pytest

from app.db.migrate import upgrade_database
from app.db.session import create_db_engine
from app.services.monitoring.log_rows import LogChunk
from app.services.monitoring.prediction_log import PredictionLogWriter
from app.services.shutdown import WorkerThread, stop_all
from tests.recorded import logged_at


def rows(count: int) -> LogChunk:
    return LogChunk(
        created_at=datetime.now(UTC),
        model_version="v1",
        features=("annual_income", "spending_score"),
        inputs=np.full((count, 2), 50.0),
        segment_ids=np.zeros(count, dtype=int),
        distances=np.ones(count),
        confidences=np.full(count, 0.5),
        atypical=np.zeros(count, dtype=bool),
        out_of_range=np.zeros(count, dtype=bool),
        segment_names={0: "Average Customer"},
        request_id="r",
        source="batch",
    )


class Stuck:
    """A worker that never ends: each wait for it uses up all the time it is given (on the test's clock)."""

    def __init__(self, name: str, clock: list[float], events: list[str]) -> None:
        self.name = name
        self.clock = clock
        self.events = events
        self.timeouts: list[float] = []

    def request_stop(self) -> None:
        self.events.append(f"stop {self.name}")

    def join(self, timeout: float) -> bool:
        self.events.append(f"join {self.name}")
        self.timeouts.append(timeout)
        self.clock[0] += timeout
        return False


def test_every_worker_is_told_first_then_waited_for_in_order_until_one_deadline(caplog):
    clock, events = [100.0], []
    workers = [Stuck(name, clock, events) for name in ("log", "drainer", "mirror")]
    with caplog.at_level(logging.WARNING, logger="app.services.shutdown"):
        running = stop_all([workers[0], None, *workers[1:]], seconds=8.0, clock=lambda: clock[0])
    assert events == ["stop log", "stop drainer", "stop mirror", "join log", "join drainer", "join mirror"]
    # One deadline for all: the first stuck worker uses it up, the others are only looked at, not waited for.
    assert [worker.timeouts for worker in workers] == [[8.0], [0.0], [0.0]]
    assert running == ["log", "drainer", "mirror"]
    assert "left behind: log, drainer, mirror" in caplog.text


def test_workers_that_end_in_time_are_not_reported():
    clock, events = [0.0], []

    class Quick(Stuck):
        def join(self, timeout: float) -> bool:
            super().join(timeout)
            self.clock[0] += 0.5 - timeout  # it ended half a second in
            return True

    workers = [Quick(name, clock, events) for name in ("log", "drainer")]
    assert stop_all(workers, seconds=8.0, clock=lambda: clock[0]) == []
    assert [worker.timeouts for worker in workers] == [[8.0], [7.5]]


@pytest.fixture
def log_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    upgrade_database(url)
    return url


def test_queued_log_rows_are_written_though_a_worker_waited_for_after_them_never_ends(log_url):
    # A writer that would not write before its next pass in an hour: the rows are still queued at shutdown.
    writer = PredictionLogWriter(create_db_engine(log_url), max_rows=1_000, flush_interval=3_600)
    writer.start()
    writer.submit(rows(3))
    hung = threading.Event()  # never set: a webhook receiver that never answers
    seen: list[int] = []

    class Hanging:
        name = "notification drainer"

        def request_stop(self) -> None:
            pass

        def join(self, timeout: float) -> bool:
            seen.append(logged_at(log_url))
            return hung.wait(min(timeout, 0.2))

    assert stop_all([writer, Hanging()], seconds=5.0) == ["notification drainer"]
    assert seen == [3]  # written before the hanging worker was waited for
    assert logged_at(log_url) == 3


class Ticker(WorkerThread):
    """A worker whose pass can be held: it ends only once told to and its pass under way is let go."""

    name = "ticker"
    thread_name = "ticker"
    stop_seconds = 0.2

    def __init__(self) -> None:
        self._stop = threading.Event()
        self.release = threading.Event()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.release.wait()


def test_a_worker_thread_is_joined_before_start_and_stops_after_its_pass():
    worker = Ticker()
    assert worker.join(0) is True  # never started: nothing to wait for
    worker.start()
    assert worker._thread.name == "ticker" and worker._thread.daemon
    worker.stop()  # told to stop, but its pass is held: stop gives up after stop_seconds
    assert worker.join(0) is False
    worker.release.set()
    assert worker.join(5) is True


def test_a_worker_thread_started_again_while_it_runs_keeps_its_one_thread():
    worker = Ticker()
    worker.start()
    thread = worker._thread
    try:
        worker.start()
        assert worker._thread is thread
        assert [t for t in threading.enumerate() if t.name == "ticker"] == [thread]
    finally:
        worker.release.set()
        worker.stop(5)
    assert worker.join(0) is True
