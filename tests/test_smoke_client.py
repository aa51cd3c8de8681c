"""test_api.py, the smoke client, passes against a real uvicorn server."""

import subprocess
import sys

import pytest

from app.core.config import PROJECT_ROOT
from tests.live_server import live_server


@pytest.fixture(scope="module")
def server_url(model_dir, tmp_path_factory):
    """A real server on a free port, serving the session's model."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    with live_server({"MODEL_DIR": str(model_dir), "AUTO_TRAIN": "false", "LOG_FORMAT": "json"}, log) as server:
        yield server.url


def _smoke(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "test_api.py", "--base-url", url],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_smoke_client_passes_against_a_real_server(server_url):
    result = _smoke(server_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "9 passed, 0 failed" in result.stdout
    assert "FAIL" not in result.stdout


def test_smoke_client_fails_when_nothing_listens():
    from tests.live_server import free_port

    result = _smoke(f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 1
    assert "0 passed, 9 failed" in result.stdout
