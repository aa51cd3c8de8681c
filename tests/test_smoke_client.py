"""test_api.py, the smoke client, passes against a real uvicorn server."""

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from app.core.config import PROJECT_ROOT
from app.models.versions.store import VersionStore
from tests.live_server import live_server

pytestmark = pytest.mark.slow

KEY = "smoke-admin-key-0123456789"
CHECKS = 12


@pytest.fixture(scope="module")
def server_log(tmp_path_factory):
    """Where the real server writes its logs."""
    return tmp_path_factory.mktemp("server") / "server.log"


@pytest.fixture(scope="module")
def server_url(model_dir, server_log, tmp_path_factory):
    """A real server on a free port, serving a copy of the session's model (its segments may be renamed)."""
    root = tmp_path_factory.mktemp("smoke") / "models_artifacts"
    shutil.copytree(model_dir, root)
    env = {"MODEL_DIR": str(root), "AUTO_TRAIN": "false", "LOG_FORMAT": "json", "ADMIN_API_KEYS": KEY}
    with live_server(env, server_log) as server:
        yield server.url


def _smoke(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "test_api.py", "--base-url", url],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _rename(url: str, segment_id: int, name: str) -> int:
    """Rename a segment as a team does (PATCH /api/v1/clusters/{id}); the status."""
    body = json.dumps({"name": name, "reason": "the team's own word"}).encode()
    request = urllib.request.Request(
        f"{url}/api/v1/clusters/{segment_id}",
        data=body,
        method="PATCH",
        headers={"Content-Type": "application/json", "X-API-Key": KEY},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def test_smoke_client_passes_against_a_real_server_whose_segments_were_renamed(server_url):
    assert _rename(server_url, 1, "Top spenders") == 200
    with urllib.request.urlopen(f"{server_url}/api/v1/clusters/1", timeout=10) as response:
        assert json.load(response)["segment_name"] == "Top spenders"
    result = _smoke(server_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{CHECKS} passed, 0 failed" in result.stdout
    assert "FAIL" not in result.stdout
    # Every endpoint family the README names for it, each checked.
    for family in ("predict/batch", "predict/csv", "predict/counterfactual", "clusters/info", "models:", "docs"):
        assert f"ok    {family}" in result.stdout


def _access_lines(log: Path, path: str) -> list[dict]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line["logger"] == "app.access" and line["path"] == path]


def test_each_request_is_logged_once_as_json(server_url, server_log):
    before = len(_access_lines(server_log, "/api/v1/clusters/info"))
    request = urllib.request.Request(f"{server_url}/api/v1/clusters/info", headers={"X-Request-ID": "log-once-1"})
    urllib.request.urlopen(request, timeout=10).read()
    access = _access_lines(server_log, "/api/v1/clusters/info")
    assert len(access) == before + 1
    assert access[-1]["request_id"] == "log-once-1"
    assert access[-1]["status"] == 200 and access[-1]["method"] == "GET" and access[-1]["duration_ms"] >= 0
    # uvicorn's own access line would be a second, poorer copy of the same request.
    assert "GET /api/v1/clusters/info HTTP/1.1" not in server_log.read_text()


def test_smoke_client_fails_when_nothing_listens():
    from tests.live_server import free_port

    result = _smoke(f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 1
    assert f"0 passed, {CHECKS} failed" in result.stdout


def test_python_main_py_serves_on_host_and_port_from_settings(model_dir, tmp_path):
    log = tmp_path / "main.log"
    env = {"MODEL_DIR": str(model_dir), "AUTO_TRAIN": "false"}
    with live_server(env, log, command=[sys.executable, "main.py"]) as server:
        assert _smoke(server.url).returncode == 0
    assert f"Uvicorn running on {server.url}" in log.read_text()


def test_several_workers_train_the_missing_model_once(default_data, tmp_path):
    log = tmp_path / "workers.log"
    model_dir = tmp_path / "models_artifacts"
    env = {
        "MODEL_DIR": str(model_dir),
        "DATA_PATH": str(default_data),
        "PROCESSED_DIR": str(tmp_path / "processed"),
        "AUTO_TRAIN": "true",
    }
    with live_server(env, log, extra_args=("--workers", "2"), timeout=120) as server:
        # Wait (bounded) until both workers have loaded a model, then check the service end to end.
        deadline = time.monotonic() + 60
        while log.read_text().count("loaded in") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _smoke(server.url).returncode == 0
    text = log.read_text()
    assert text.count("training one automatically") == 1
    assert text.count("loaded in") == 2
    assert len(VersionStore(model_dir).versions()) == 1
