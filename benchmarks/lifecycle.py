"""Model lifecycle benchmarks: a training job through the API against the CLI, and serving while a job runs.

The "lifecycle" step of benchmarks/run.py, each figure against a baseline measured in the same run.
"""

import http.client
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from app.core.config import PROJECT_ROOT
from app.models.synthetic import write_customers
from benchmarks.loadgen import run_load
from tests.live_server import live_server


def _multipart(path: Path) -> tuple[bytes, str]:
    boundary = "benchboundary7d3f"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + path.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def _api_job(url: str, key: str, body: bytes, content_type: str) -> float:
    """Seconds from the upload to the job's success (polled every 50 ms)."""
    started = time.perf_counter()
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=600)
    connection.request("POST", "/api/v1/models", body, {"Content-Type": content_type, "X-API-Key": key})
    response = connection.getresponse()
    assert response.status == 202, response.read()[:500]
    location = response.getheader("Location")
    response.read()
    while True:
        connection.request("GET", location)
        job = json.loads(connection.getresponse().read())
        if job["state"] == "succeeded":
            return time.perf_counter() - started
        if job["state"] == "failed":
            raise RuntimeError(job["error"])
        time.sleep(0.05)


def bench_lifecycle(model_dir: Path, sizes: Any, workdir: Path) -> list[dict[str, Any]]:
    """7. Training from the API against the CLI on the same file, and serving while a job runs."""
    data = write_customers(workdir / "lifecycle.csv", rows=sizes.train_rows, seed=9)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "train_model.py", "--data", str(data), "--output-dir", str(workdir / "cli-models"), "--quiet"],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
    )
    cli_s = time.perf_counter() - started
    root = workdir / "api-models"
    shutil.copytree(model_dir, root)
    key = "bench-admin-key-0123"
    env = {"MODEL_DIR": str(root), "AUTO_TRAIN": "false", "ADMIN_API_KEYS": key, "TRAIN_MAX_UPLOAD_BYTES": "1000000000"}
    single = json.dumps({"annual_income": 60, "spending_score": 50}).encode()
    body, content_type = _multipart(data)
    with live_server(env, workdir / "lifecycle.log") as server:
        api_s = _api_job(server.url, key, body, content_type)
        idle = run_load(server.url + "/api/v1/predict", single, connections=16, seconds=sizes.http_seconds)
        job = threading.Thread(target=_api_job, args=(server.url, key, body, content_type))
        job.start()
        time.sleep(min(1.0, api_s / 4))  # upload done and the trainer busy
        busy = run_load(server.url + "/api/v1/predict", single, connections=16, seconds=sizes.http_seconds)
        job.join()
    ratio = busy.requests_per_second / idle.requests_per_second
    return [
        {
            "name": f"API training job on {sizes.train_rows:,} rows",
            "unit": "s",
            "project": api_s,
            "baseline": cli_s,
            "ratio": cli_s / api_s,
            "goal": "<= 1.5x the CLI",
            "met": api_s <= 1.5 * cli_s,
            "note": "baseline: python train_model.py on the same file; the job includes the upload and polling",
        },
        {
            "name": "HTTP predict throughput during a training job",
            "unit": "req/s",
            "project": busy.requests_per_second,
            "baseline": idle.requests_per_second,
            "ratio": ratio,
            "goal": "ratio >= 0.7",
            "met": ratio >= 0.7,
            "note": f"baseline: the same server idle; {busy.errors + idle.errors} errors",
        },
    ]
