"""Metrics are configured by the app, never at import: the mode, the automatic folder of workers, stale folders."""

import multiprocessing
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest, multiprocess

from app.core import metrics
from app.core.config import PROJECT_ROOT, Settings


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter from the project root, with `env` added to the environment."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def live_folder(tmp_path: Path) -> Path:
    """A multiprocess folder as a running server leaves it: its owner marker and a worker's counter file."""
    folder = tmp_path / "server-metrics"
    folder.mkdir()
    (folder / ".owner").write_text("1:12345")
    (folder / "counter_4242.db").write_bytes(b"counts of a live worker")
    return folder


def snapshot(*folders: Path) -> dict[str, bytes]:
    """Every file under `folders`, with its content."""
    return {str(path): path.read_bytes() for folder in folders for path in folder.rglob("*") if path.is_file()}


def test_importing_metrics_and_the_cli_reads_no_settings_and_touches_no_files(live_folder, tmp_path):
    temp = tmp_path / "temp"
    temp.mkdir()
    before = snapshot(live_folder)
    result = run_python(
        """
        from app.core import config

        def refuse(*args, **kwargs):
            raise SystemExit("settings were read at import")

        config.get_settings = refuse
        config.Settings.__init__ = refuse
        import app.cli.__main__
        import app.core.metrics
        print("imported")
        """,
        {"PROMETHEUS_MULTIPROC_DIR": str(live_folder), "TMPDIR": str(temp)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported"
    assert snapshot(live_folder) == before
    assert list(temp.iterdir()) == []


def test_recording_before_the_app_configures_metrics_counts_nothing_and_writes_nothing(live_folder, tmp_path):
    temp = tmp_path / "temp"
    temp.mkdir()
    before = snapshot(live_folder)
    result = run_python(
        """
        import numpy as np
        from prometheus_client import REGISTRY, generate_latest

        from app.core import metrics

        metrics.record_request("POST", "/api/v1/predict", 200, 0.001)
        metrics.record_scores(
            segment_names=["a", "b"], positions=np.array([1]), is_atypical=np.array([True]),
            out_of_range=np.array([[True, False]]), features=["x", "y"], source="single",
        )
        metrics.record_scored_size(source="csv", customers=10)
        metrics.record_model_loaded(version="v1", seconds=0.1)
        metrics.record_rate_limited(limit="predict")
        metrics.mark_worker_stopped()
        print(b"segment_predictions_total" in generate_latest(REGISTRY), b"http_requests" in metrics.exposition())
        """,
        {"PROMETHEUS_MULTIPROC_DIR": str(live_folder), "TMPDIR": str(temp)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]
    assert snapshot(live_folder) == before
    assert list(temp.iterdir()) == []


def test_a_single_process_counts_in_memory_even_with_the_variable_inherited(live_folder, tmp_path):
    # An explicit "no folder" wins over a PROMETHEUS_MULTIPROC_DIR that prometheus-client saw at its import.
    before = snapshot(live_folder)
    result = run_python(
        """
        from app.core import metrics
        from app.core.config import Settings

        configured = metrics.configure_metrics(Settings(_env_file=None, prometheus_multiproc_dir=None))
        metrics.record_request("GET", "/livez", 200, 0.001)
        print(configured.folder, b'http_requests_total{method="GET",route="/livez",status="200"} 1.0' in
              metrics.exposition())
        """,
        {"PROMETHEUS_MULTIPROC_DIR": str(live_folder), "TMPDIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["None", "True"]
    assert snapshot(live_folder) == before


def test_the_mode_is_chosen_once_per_process():
    first = metrics.configure_metrics(Settings(_env_file=None, prometheus_multiproc_dir=None))
    assert metrics.configure_metrics(Settings(_env_file=None, prometheus_multiproc_dir="/elsewhere")) is first


def test_a_configured_folder_wins_over_the_automatic_one(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(metrics, "_supervisor_pid", os.getppid)
    chosen = metrics._multiprocess_dir(Settings(_env_file=None, prometheus_multiproc_dir=tmp_path / "mine"))
    assert chosen == tmp_path / "mine"
    assert list(tmp_path.glob(f"{metrics.AUTO_DIR_PREFIX}*")) == []


def test_a_worker_without_a_folder_shares_its_supervisors_automatic_one(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    supervisor = os.getppid()
    monkeypatch.setattr(metrics, "_supervisor_pid", lambda: supervisor)
    folder = metrics._multiprocess_dir(Settings(_env_file=None, prometheus_multiproc_dir=None))
    assert folder == tmp_path / f"{metrics.AUTO_DIR_PREFIX}{supervisor}-{metrics._start_time(supervisor)}"
    assert folder.is_dir() and folder.stat().st_mode & 0o777 == 0o700
    # Every worker of the same supervisor, replacements included, finds the same folder.
    assert metrics._multiprocess_dir(Settings(_env_file=None, prometheus_multiproc_dir=None)) == folder


def test_a_process_that_is_no_worker_uses_no_folder(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(metrics, "_supervisor_pid", lambda: None)
    assert metrics._multiprocess_dir(Settings(_env_file=None, prometheus_multiproc_dir=None)) is None
    assert list(tmp_path.iterdir()) == []


def test_a_spawned_worker_knows_its_supervisor_while_it_imports_the_main_script(monkeypatch):
    # multiprocessing names the child before re-importing `python main.py`, and records its parent only after.
    monkeypatch.setattr(multiprocessing, "parent_process", lambda: None)
    assert metrics._supervisor_pid() is None
    monkeypatch.setattr(multiprocessing.current_process(), "name", "SpawnProcess-1")
    assert metrics._supervisor_pid() == os.getppid()


def _exited_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.mark.skipif(sys.platform != "linux", reason="start times come from /proc")
def test_claiming_removes_automatic_folders_of_exited_supervisors_only(tmp_path):
    me, parent = os.getpid(), os.getppid()
    live = tmp_path / f"{metrics.AUTO_DIR_PREFIX}{me}-{metrics._start_time(me)}"
    dead = tmp_path / f"{metrics.AUTO_DIR_PREFIX}{_exited_pid()}-123"
    reused = tmp_path / f"{metrics.AUTO_DIR_PREFIX}{me}-1"  # this pid, but an earlier process had it
    unrelated = tmp_path / f"{metrics.AUTO_DIR_PREFIX}notes"
    for folder in (live, dead, reused, unrelated):
        folder.mkdir()
        (folder / "counter_1.db").write_bytes(b"x")
    claimed = metrics.automatic_multiprocess_dir(parent, root=tmp_path)
    assert claimed == tmp_path / f"{metrics.AUTO_DIR_PREFIX}{parent}-{metrics._start_time(parent)}"
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(name.name for name in (live, unrelated, claimed))


def test_a_folder_that_is_a_link_is_never_used(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    parent = os.getppid()
    (tmp_path / f"{metrics.AUTO_DIR_PREFIX}{parent}-{metrics._start_time(parent)}").symlink_to(target)
    assert metrics.automatic_multiprocess_dir(parent, root=tmp_path) is None
    assert target.exists()


def _worker(temp: str) -> None:
    """What a uvicorn worker does with no folder configured: configure, then answer one request."""
    tempfile.tempdir = temp
    metrics.configure_metrics(Settings(_env_file=None, prometheus_multiproc_dir=None))
    metrics.record_request("POST", "/api/v1/predict", 200, 0.001)


def test_workers_started_with_multiprocessing_count_into_one_sum(monkeypatch, tmp_path):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    # uvicorn starts its workers the same way: spawned by multiprocessing.
    context = multiprocessing.get_context("spawn")
    for _ in range(2):
        worker = context.Process(target=_worker, args=(str(tmp_path),))
        worker.start()
        worker.join(timeout=60)
        assert worker.exitcode == 0
    (folder,) = tmp_path.glob(f"{metrics.AUTO_DIR_PREFIX}{os.getpid()}-*")
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(folder))
    text = generate_latest(registry).decode()
    assert 'http_requests_total{method="POST",route="/api/v1/predict",status="200"} 2.0' in text
    assert len(list(folder.glob("counter_*.db"))) == 2


def test_prediction_metrics_carry_a_segmentation_label_default_when_not_given(tmp_path):
    from prometheus_client.parser import text_string_to_metric_families

    result = run_python(
        """
        import numpy as np

        from app.core import metrics
        from app.core.config import Settings

        metrics.configure_metrics(Settings(_env_file=None, prometheus_multiproc_dir=None))
        two = dict(segment_names=["a", "b"], features=["x", "y"])
        metrics.record_scores(**two, positions=np.array([1]), is_atypical=np.array([True]),
                              out_of_range=np.array([[True, False]]), source="single")
        metrics.record_scores(**two, positions=np.array([0, 1, 1]), is_atypical=np.array([True, False, True]),
                              out_of_range=np.array([[False, True]] * 3), source="batch", segmentation="rfm")
        metrics.record_model_loaded(version="v1", seconds=0.1)
        metrics.record_model_loaded(version="r1", seconds=0.1, segmentation="rfm")
        metrics.record_model_loaded(version="r2", seconds=0.1, previous="r1", segmentation="rfm")
        print(metrics.exposition().decode())
        """,
        {"TMPDIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(result.stdout)
        for sample in family.samples
    }

    def value(name: str, **labels: str) -> float | None:
        return samples.get((name, tuple(sorted(labels.items()))))

    assert value("segment_predictions_total", segmentation="default", segment="b", source="single") == 1
    assert value("segment_predictions_total", segmentation="rfm", segment="b", source="batch") == 2
    assert value("segment_predictions_total", segmentation="rfm", segment="a", source="batch") == 1
    assert value("atypical_predictions_total", segmentation="default", source="single") == 1
    assert value("atypical_predictions_total", segmentation="rfm", source="batch") == 2
    assert value("out_of_range_values_total", segmentation="default", feature="x", source="single") == 1
    assert value("out_of_range_values_total", segmentation="rfm", feature="y", source="batch") == 3
    assert value("scored_customers_per_request_count", segmentation="rfm", source="batch") == 1
    assert value("scored_customers_per_request_count", segmentation="default", source="single") is None
    # Each segmentation serves its own version; a swap in one leaves the other's as it was.
    assert value("model_active_info", segmentation="default", version="v1") == 1
    assert value("model_active_info", segmentation="rfm", version="r1") == 0
    assert value("model_active_info", segmentation="rfm", version="r2") == 1
    # No sample of these metrics lacks the label.
    prediction_metrics = ("segment_predictions", "atypical_predictions", "out_of_range_values", "scored_customers")
    assert all("segmentation" in dict(labels) for name, labels in samples if name.startswith(prediction_metrics))
