"""/metrics from real uvicorn servers: the sum over workers (with a folder or without), a fresh count per server
start, and CLI commands that leave a live server's counts alone."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.core.config import PROJECT_ROOT
from app.core.metrics import AUTO_DIR_PREFIX
from tests.live_server import live_server, wait_for_workers
from tests.tools import promtool_check

pytestmark = pytest.mark.slow

VIP = json.dumps({"annual_income": 120, "spending_score": 90}).encode()


def post_predict(url: str) -> int:
    """One prediction on a new connection; the status code."""
    request = urllib.request.Request(
        f"{url}/api/v1/predict", data=VIP, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def metrics_text(url: str) -> str:
    """The /metrics page, read from 127.0.0.1."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        return response.read().decode()


def sample(text: str, name: str, **labels: str) -> float:
    """One sample's value, 0 when absent."""
    for family in text_string_to_metric_families(text):
        for item in family.samples:
            if item.name == name and item.labels == labels:
                return item.value
    return 0.0


def automatic_dirs(supervisor: int) -> list[Path]:
    """The automatic metrics folders of one supervisor process."""
    return list(Path(tempfile.gettempdir()).glob(f"{AUTO_DIR_PREFIX}{supervisor}-*"))


def predictions_counted(text: str) -> float:
    """segment_predictions_total summed over every segment and source."""
    return sum(
        item.value
        for family in text_string_to_metric_families(text)
        for item in family.samples
        if item.name == "segment_predictions_total"
    )


def server_env(model_dir: Path, metrics_dir: Path) -> dict[str, str]:
    """Settings for a live server with multiprocess metrics and a limit no test reaches."""
    return {
        "MODEL_DIR": str(model_dir),
        "AUTO_TRAIN": "false",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "RATE_LIMIT_PREDICT": "100000/minute",
    }


def test_two_workers_report_the_sum_of_their_requests(model_dir, tmp_path):
    metrics_dir = tmp_path / "prometheus"
    env = server_env(model_dir, metrics_dir)
    with live_server(env, tmp_path / "workers.log", extra_args=("--workers", "2"), timeout=120) as server:
        wait_for_workers(tmp_path / "workers.log", 2)
        # Several connections at once, so both workers accept some of the 200 requests.
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda _: post_predict(server.url), range(200)))
        assert statuses == [200] * 200
        text = metrics_text(server.url)
        worker_files = {path.name for path in metrics_dir.glob("counter_*.db")}
        # The configured folder wins: the workers made no automatic one.
        assert automatic_dirs(server.pid) == []
    assert sample(text, "http_requests_total", method="POST", route="/api/v1/predict", status="200") == 200
    assert (
        sample(text, "segment_predictions_total", segmentation="default", segment="VIP / Whale", source="single") == 200
    )
    assert sample(text, "http_request_duration_seconds_count", method="POST", route="/api/v1/predict") == 200
    # The sum really spans two processes: each worker writes its own file.
    # Each worker that answered wrote its own file (the kernel may hand every connection to one of them; the
    # 200-request test above proves the sum across two).
    assert 1 <= len(worker_files) <= 2, worker_files


def test_a_new_server_starts_counting_from_zero(model_dir, tmp_path):
    metrics_dir = tmp_path / "prometheus"
    env = server_env(model_dir, metrics_dir)
    with live_server(env, tmp_path / "first.log") as server:
        for _ in range(7):
            post_predict(server.url)
        first = metrics_text(server.url)
    assert (
        sample(first, "segment_predictions_total", segmentation="default", segment="VIP / Whale", source="single") == 7
    )
    with live_server(env, tmp_path / "second.log") as server:
        for _ in range(3):
            post_predict(server.url)
        text = metrics_text(server.url)
    assert (
        sample(text, "segment_predictions_total", segmentation="default", segment="VIP / Whale", source="single") == 3
    )


def test_multiprocess_metrics_pass_promtool_check(model_dir, tmp_path):
    env = server_env(model_dir, tmp_path / "prometheus")
    with live_server(env, tmp_path / "workers.log", extra_args=("--workers", "2"), timeout=120) as server:
        post_predict(server.url)
        text = metrics_text(server.url)
    assert "model_active_info" in text and "model_load_seconds" in text
    result = promtool_check(text)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == ""


@pytest.mark.skipif(sys.platform != "linux", reason="POSIX SIGTERM: Linux only")
def test_python_main_py_with_two_workers_sums_metrics_and_stops_cleanly(model_dir, tmp_path):
    log = tmp_path / "main.log"
    env = {"MODEL_DIR": str(model_dir), "AUTO_TRAIN": "false", "WORKERS": "2", "RATE_LIMIT_PREDICT": "100000/minute"}
    with live_server(env, log, command=[sys.executable, "main.py"], timeout=120) as server:
        wait_for_workers(log, 2)
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda _: post_predict(server.url), range(60)))
        text = metrics_text(server.url)
        # The workers share an automatic folder named after their supervisor, so whichever answers reports both.
        (folder,) = automatic_dirs(server.pid)
        os.kill(server.pid, signal.SIGTERM)
        assert server.process.wait(timeout=60) == 0
    worker_files = list(folder.glob("counter_*.db"))
    shutil.rmtree(folder, ignore_errors=True)
    # Each worker that answered wrote its own file (the kernel may hand every connection to one of them; the
    # 200-request test above proves the sum across two).
    assert 1 <= len(worker_files) <= 2, worker_files
    assert statuses == [200] * 60
    assert sample(text, "http_requests_total", method="POST", route="/api/v1/predict", status="200") == 60


def test_uvicorn_workers_without_a_folder_count_every_request(model_dir, tmp_path, monkeypatch):
    # The project's production command, with nothing about metrics in the environment.
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    env = {"MODEL_DIR": str(model_dir), "AUTO_TRAIN": "false", "METRICS_ALLOWED_NETWORKS": "127.0.0.1/32"}
    log = tmp_path / "workers.log"
    with live_server(env, log, extra_args=("--workers", "2"), timeout=120) as server:
        try:
            wait_for_workers(log, 2)
            # Several connections at once, so both workers accept some of the 200 requests.
            with ThreadPoolExecutor(max_workers=8) as pool:
                statuses = list(pool.map(lambda _: post_predict(server.url), range(200)))
            # Each scrape is a new connection that either worker may answer: every one sees the whole sum.
            counted = [predictions_counted(metrics_text(server.url)) for _ in range(6)]
            folders = automatic_dirs(server.pid)
        finally:
            for folder in automatic_dirs(server.pid):
                shutil.rmtree(folder, ignore_errors=True)
    assert statuses == [200] * 200
    assert counted == [200] * 6
    assert len(folders) == 1


CLI_COMMANDS = (("db", "upgrade"), ("models", "list"), ("score", "{data}", "{output}", "--quiet"))


@pytest.mark.parametrize("command", CLI_COMMANDS, ids=lambda command: command[0])
def test_a_cli_command_leaves_a_live_servers_counts_intact(model_dir, default_data, tmp_path, command):
    metrics_dir = tmp_path / "prometheus"
    env = server_env(model_dir, metrics_dir)
    with live_server(env, tmp_path / "server.log") as server:
        for _ in range(5):
            post_predict(server.url)
        files_before = sorted(path.name for path in metrics_dir.iterdir())
        # A training job is such a command, started by the server itself with its environment.
        args = [part.format(data=default_data, output=tmp_path / "scored.csv") for part in command]
        result = subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            cwd=PROJECT_ROOT,
            env={**os.environ, **env, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        files_after = sorted(path.name for path in metrics_dir.iterdir())
        text = metrics_text(server.url)
    assert (
        sample(text, "segment_predictions_total", segmentation="default", segment="VIP / Whale", source="single") == 5
    )
    assert sample(text, "http_requests_total", method="POST", route="/api/v1/predict", status="200") == 5
    # The command wrote nothing there either: the scored file's customers are not the server's.
    assert files_after == files_before
    assert sample(text, "scored_customers_per_request_count", segmentation="default", source="csv") == 0
