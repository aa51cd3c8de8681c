"""Training-job service: the concurrency limit holds when requests arrive together."""

import contextlib
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.core.errors import VersionConflict
from app.services import jobs


class _ParkedProcess:
    """Stands in for the trainer's process: it runs until the test ends, so its job stays queued."""

    pid = 0

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def wait(self) -> int:
        _release.wait()
        return 0


_release = threading.Event()


@pytest.fixture
def parked_trainer(monkeypatch) -> Iterator[None]:
    """Jobs start without a training process; theirs stays 'queued' for the whole test."""
    _release.clear()
    monkeypatch.setattr(jobs.subprocess, "Popen", _ParkedProcess)
    yield
    _release.set()


def test_two_requests_at_once_start_one_job_when_one_may_run(make_settings, fresh_dir, parked_trainer, monkeypatch):
    settings = make_settings(model_dir=fresh_dir, train_max_concurrent_jobs=1)
    # Both requests count the running jobs, then go on together: without a lock both see room for one more.
    both_counted = threading.Barrier(2, timeout=2)
    count = jobs.JobStore.running

    def count_then_meet(store: jobs.JobStore) -> int:
        running = count(store)
        # Broken when the other request waits for the lock instead: it counts after this one has created its job.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_counted.wait()
        return running

    monkeypatch.setattr(jobs.JobStore, "running", count_then_meet)

    def start() -> str | VersionConflict:
        try:
            return jobs.start_training_job(
                settings=settings, upload=None, k="5", features="annual_income,spending_score", seed=1,
                activate=False, key="",
            )  # fmt: skip
        except VersionConflict as exc:
            return exc

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda _: start(), range(2)))

    started = [outcome for outcome in outcomes if isinstance(outcome, str)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, VersionConflict)]
    assert len(started) == 1 and len(refused) == 1, outcomes
    assert refused[0].status_code == 409
    assert "1 training job(s) already running" in refused[0].message
    assert [folder.name for folder in settings.job_root.iterdir() if folder.is_dir()] == started
