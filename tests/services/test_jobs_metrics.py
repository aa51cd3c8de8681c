"""training_jobs_total: the server counts each job once, by its final state, when it sees the job's process end."""

import pytest
from prometheus_client import REGISTRY

from app.core import metrics
from app.services.training import launch
from app.services.training.store import JobStore, read_job, write_job


class _Ended:
    """Stands in for a trainer's process that has exited with `code`."""

    def __init__(self, code: int) -> None:
        self.code = code

    def wait(self) -> int:
        return self.code


def _count(state: str) -> float:
    return REGISTRY.get_sample_value("training_jobs_total", {"state": state}) or 0.0


@pytest.fixture
def counted(make_settings) -> None:
    """Metrics configured in this process, as the app does before any job starts."""
    folder = metrics.configure_metrics(make_settings()).folder
    if folder is not None:
        pytest.skip("this process counts through a multiprocess folder; the in-memory registry holds nothing")


def _ended_job(tmp_path, state: str):
    _, folder = JobStore(tmp_path / "jobs").create({"k": 5})
    write_job(folder, {**read_job(folder), "state": state})
    return folder


def test_both_final_states_are_exported_before_any_job_ends(counted):
    samples = {s.labels["state"] for m in REGISTRY.collect() if m.name == "training_jobs" for s in m.samples}
    assert {"succeeded", "failed"} <= samples


@pytest.mark.parametrize("state", ["succeeded", "failed"])
def test_a_job_that_ended_is_counted_once_by_its_final_state(counted, tmp_path, state):
    other = "failed" if state == "succeeded" else "succeeded"
    before, before_other = _count(state), _count(other)
    launch._reap(_Ended(0 if state == "succeeded" else 1), _ended_job(tmp_path, state))
    assert _count(state) == before + 1
    assert _count(other) == before_other


def test_a_process_that_died_before_a_final_state_counts_as_failed(counted, tmp_path):
    folder = _ended_job(tmp_path, "running")
    before, succeeded = _count("failed"), _count("succeeded")
    launch._reap(_Ended(-9), folder)
    assert read_job(folder)["state"] == "failed"
    assert _count("failed") == before + 1
    assert _count("succeeded") == succeeded
