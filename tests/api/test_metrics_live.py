"""/metrics from real uvicorn servers: the multiprocess sum over two workers, and a fresh count per server start."""

import json
import os
import shutil
import signal
import sys
import tempfile
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

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
    assert sample(text, "http_requests_total", method="POST", route="/api/v1/predict", status="200") == 200
    assert sample(text, "segment_predictions_total", segment="VIP / Whale", source="single") == 200
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
    assert sample(first, "segment_predictions_total", segment="VIP / Whale", source="single") == 7
    with live_server(env, tmp_path / "second.log") as server:
        for _ in range(3):
            post_predict(server.url)
        text = metrics_text(server.url)
    assert sample(text, "segment_predictions_total", segment="VIP / Whale", source="single") == 3


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
        os.kill(server.pid, signal.SIGTERM)
        assert server.process.wait(timeout=60) == 0
    # main.py chose a shared folder itself, so whichever worker answered /metrics reports both.
    folder = Path(tempfile.gettempdir()) / f"customer-segmentation-metrics-{server.url.rsplit(':', 1)[1]}"
    worker_files = list(folder.glob("counter_*.db"))
    shutil.rmtree(folder, ignore_errors=True)
    # Each worker that answered wrote its own file (the kernel may hand every connection to one of them; the
    # 200-request test above proves the sum across two).
    assert 1 <= len(worker_files) <= 2, worker_files
    assert statuses == [200] * 60
    assert sample(text, "http_requests_total", method="POST", route="/api/v1/predict", status="200") == 60
