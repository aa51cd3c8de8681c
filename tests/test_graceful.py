"""Start-up, SIGTERM and SIGKILL on real servers: drained requests, refused newcomers, replaced workers."""

import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.live_server import http_status, live_server, wait_for, wait_for_workers, worker_pids

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform != "linux", reason="signals and /proc: Linux only")]

BATCH = json.dumps({"customers": [{"annual_income": 20 + i % 100, "spending_score": 1 + i % 99} for i in range(500)]})


def env_for(model_dir: Path, **extra: str) -> dict[str, str]:
    """Settings for a live server serving the session's model."""
    return {"MODEL_DIR": str(model_dir), "AUTO_TRAIN": "false", **extra}


def start_slow_upload(url: str, body: bytes) -> socket.socket:
    """Send a batch request's headers and half its body, leaving the request in flight."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=15)
    head = (
        f"POST /api/v1/predict/batch HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock.sendall(head + body[: len(body) // 2])
    return sock


def finish_upload(sock: socket.socket, body: bytes) -> tuple[int, bytes]:
    """Send the rest of the body and read the whole response (the server closes after it)."""
    sock.sendall(body[len(body) // 2 :])
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    sock.close()
    raw = b"".join(chunks)
    status = int(raw.split(b" ", 2)[1])
    return status, raw.split(b"\r\n\r\n", 1)[1]


def refuses_connections(url: str, timeout: float = 10.0) -> bool:
    """True once a new connection is refused (bounded wait)."""
    host, port = url.removeprefix("http://").split(":")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, int(port)), timeout=1):
                pass
        except ConnectionRefusedError:
            return True
        time.sleep(0.02)
    return False


def readiness(url: str) -> tuple[int, dict]:
    """/readyz's status and JSON body on a new connection; (0, {}) when the connection fails."""
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return 0, {}


# uvicorn binding the port itself (live_server's own way hands it a socket, which the test cannot see close).
UVICORN = ["sh", "-c", f'exec "{sys.executable}" -m uvicorn main:app --host 127.0.0.1 --port "$PORT"']
UVICORN_OR_MAIN = pytest.mark.parametrize(
    "command", [UVICORN, [sys.executable, "main.py"]], ids=["uvicorn main:app", "python main.py"]
)


@UVICORN_OR_MAIN
def test_sigterm_turns_readyz_to_503_while_new_requests_are_still_served_and_the_one_in_flight_completes(
    command, model_dir, tmp_path
):
    log = tmp_path / "server.log"
    body = BATCH.encode()
    env = env_for(model_dir, GRACEFUL_TIMEOUT="20", DRAIN_SECONDS="300")
    with live_server(env, log, command=command) as server:
        assert readiness(server.url)[0] == 200
        in_flight = start_slow_upload(server.url, body)
        time.sleep(0.3)  # let the server read the headers, so the request is in flight when the signal comes
        os.kill(server.pid, signal.SIGTERM)
        assert wait_for(lambda: readiness(server.url)[0] == 503, timeout=10) is not None
        status, report = readiness(server.url)
        assert status == 503
        assert report["status"] == "not_ready" and report["reason"].startswith("draining")
        # Still serving: liveness and the API answer on new connections while a load balancer moves away.
        assert http_status(f"{server.url}/livez") == 200
        assert http_status(f"{server.url}/api/v1/clusters") == 200
        # A second SIGTERM ends the pause: the listener closes and the request in flight is finished.
        os.kill(server.pid, signal.SIGTERM)
        assert refuses_connections(server.url)
        answered, response = finish_upload(in_flight, body)
        assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn's CLI dies of the signal it got
    assert answered == 200
    assert json.loads(response)["count"] == 500
    text = log.read_text()
    assert "draining: /readyz answers 503" in text and "Shutting down" in text


def test_the_drain_pause_ends_by_itself_and_python_main_py_exits_0(model_dir, tmp_path):
    log = tmp_path / "server.log"
    with live_server(env_for(model_dir, DRAIN_SECONDS="1"), log, command=[sys.executable, "main.py"]) as server:
        os.kill(server.pid, signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0
    text = log.read_text()
    assert text.index("draining: /readyz answers 503") < text.index("Shutting down")


def test_every_worker_drains_with_readyz_at_503(model_dir, tmp_path):
    log = tmp_path / "workers.log"
    metrics_dir = tmp_path / "prometheus"
    env = env_for(model_dir, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), DRAIN_SECONDS="300", GRACEFUL_TIMEOUT="5")
    with live_server(env, log, extra_args=("--workers", "2"), timeout=120) as server:
        wait_for_workers(log, 2)
        workers = worker_pids(server.pid)
        assert len(workers) == 2
        os.kill(server.pid, signal.SIGTERM)  # uvicorn's supervisor passes it on to each worker
        assert wait_for(lambda: log.read_text().count("draining: /readyz answers 503") == 2, timeout=30) is not None
        # Whichever worker answers, it is draining.
        statuses = {readiness(server.url)[0] for _ in range(6)}
        assert statuses == {503}
        for pid in workers:
            os.kill(pid, signal.SIGTERM)  # the second one ends each worker's pause
        server.process.wait(timeout=60)
    assert log.read_text().count("Shutting down") >= 2


def test_startup_logs_version_model_load_time_and_uvicorn_the_address(model_dir, model, tmp_path):
    log = tmp_path / "server.log"
    with live_server(env_for(model_dir), log, command=[sys.executable, "main.py"]) as server:
        pass
    text = log.read_text()
    lines = [line for line in text.splitlines() if "app.startup: started:" in line]
    assert len(lines) == 1
    assert f"model {model.version} (load " in lines[0]
    assert "app 1.0.0" in lines[0]
    assert f"Uvicorn running on {server.url}" in text


def test_sigterm_drains_the_request_in_flight_refuses_new_ones_and_exits_0(model_dir, tmp_path):
    log = tmp_path / "server.log"
    body = BATCH.encode()
    with live_server(env_for(model_dir, GRACEFUL_TIMEOUT="20"), log, command=[sys.executable, "main.py"]) as server:
        in_flight = start_slow_upload(server.url, body)
        time.sleep(0.3)  # let the server read the headers, so the request is in flight when the signal comes
        os.kill(server.pid, signal.SIGTERM)
        assert refuses_connections(server.url)
        status, response = finish_upload(in_flight, body)
        assert server.process.wait(timeout=20) == 0
    assert status == 200
    assert json.loads(response)["count"] == 500
    assert "Shutting down" in log.read_text()


def test_sigterm_gives_up_on_a_stuck_request_after_the_grace_period(model_dir, tmp_path):
    log = tmp_path / "server.log"
    body = BATCH.encode()
    with live_server(env_for(model_dir, GRACEFUL_TIMEOUT="1"), log, command=[sys.executable, "main.py"]) as server:
        stuck = start_slow_upload(server.url, body)
        time.sleep(0.3)
        os.kill(server.pid, signal.SIGTERM)
        started = time.monotonic()
        assert server.process.wait(timeout=20) == 0
        took = time.monotonic() - started
        stuck.close()
    assert took < 10, took
    assert "timeout graceful shutdown exceeded" in log.read_text()


def test_a_killed_worker_is_replaced_and_the_service_keeps_answering(model_dir, tmp_path):
    log = tmp_path / "workers.log"
    metrics_dir = tmp_path / "prometheus"
    env = env_for(model_dir, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), RATE_LIMIT_PREDICT="100000/minute")
    with live_server(env, log, extra_args=("--workers", "2"), timeout=120) as server:
        wait_for_workers(log, 2)
        before = worker_pids(server.pid)
        assert len(before) == 2
        statuses: list[int] = []
        stop = threading.Event()

        def load() -> None:
            # Bounded: at most 2,000 requests, and it stops when told.
            for _ in range(2_000):
                if stop.is_set():
                    return
                statuses.append(http_status(f"{server.url}/api/v1/clusters"))

        threads = [threading.Thread(target=load) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        wait_for_workers(log, 3, timeout=60)  # uvicorn started a replacement, which loaded the model
        time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        after = worker_pids(server.pid)
        assert http_status(f"{server.url}/readyz") == 200
    assert victim not in after and len(after) == 2
    failed = [status for status in statuses if status != 200]
    # At most the requests in flight on the killed worker fail (one per client thread).
    assert len(failed) <= len(threads), failed
    assert len(statuses) > 50
