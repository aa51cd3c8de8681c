"""The composition root's uvicorn options: the server never takes the client address from headers itself, and never
names itself in a Server header."""

import asyncio
import gc
import json
import logging
import os
import subprocess
import sys
import urllib.request

import pytest
import uvicorn
from fastapi.testclient import TestClient

from app import __version__
from app.core.config import PROJECT_ROOT
from app.core.serving import uvicorn_options
from app.main import create_app
from app.utils.memory import TUNED_GC_THRESHOLD
from tests.live_server import free_port, live_server
from tests.recorded import logged_at


def client_seen_by_the_app(options: dict, peer: tuple[str, int], headers: list[tuple[bytes, bytes]]) -> tuple[str, str]:
    """Send one request through the app uvicorn builds from `options`; the client address and scheme it is handed."""
    seen: list[tuple[str, str]] = []

    async def app(scope, receive, send) -> None:
        seen.append((scope["client"][0], scope["scheme"]))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    config = uvicorn.Config(app, **options, log_config=None)
    config.load()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": "/", "raw_path": b"/", "query_string": b"", "root_path": "", "headers": headers,
        "client": peer, "server": ("127.0.0.1", 8000),
    }  # fmt: skip

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        pass

    asyncio.run(config.loaded_app(scope, receive, send))
    return seen[0]


def test_uvicorn_hands_the_app_the_socket_peer_and_scheme_not_the_forwarded_ones(make_settings):
    options = uvicorn_options(make_settings(trust_forwarded_for=True, trusted_proxies="127.0.0.1/32"))
    headers = [(b"x-forwarded-for", b"203.0.113.7"), (b"x-forwarded-proto", b"https")]
    # uvicorn trusts these headers from 127.0.0.1 by default; the app alone decides (app/core/proxy.py), once.
    assert client_seen_by_the_app(options, ("127.0.0.1", 50_000), headers) == ("127.0.0.1", "http")


def test_uvicorn_options_follow_the_settings(make_settings):
    options = uvicorn_options(make_settings(host="0.0.0.0", port=9123, workers=3, log_level="warning"))
    assert options["host"] == "0.0.0.0" and options["port"] == 9123 and options["workers"] == 3
    assert options["log_level"] == "warning"


def test_startup_line_claims_no_address_the_app_cannot_know(client_for, caplog, model):
    # A server started as `uvicorn main:app --port 9000` keeps PORT's default in settings.
    caplog.set_level(logging.INFO, logger="app.startup")
    client_for(port=8000)
    lines = [record.getMessage() for record in caplog.records if record.name == "app.startup"]
    assert len(lines) == 1
    assert lines[0].startswith(f"started: app {__version__}, model {model.version} (load ")
    assert "listening" not in lines[0] and ":8000" not in lines[0] and "port" not in lines[0]


def test_uvicorn_options_send_no_server_header(make_settings):
    config = uvicorn.Config(lambda scope, receive, send: None, **uvicorn_options(make_settings()), log_config=None)
    config.load()
    # uvicorn prepends these to every answer, below the app: `Server: uvicorn` unless server_header is off.
    assert b"server" not in dict(config.encoded_headers)


SERVER_COMMANDS = pytest.mark.parametrize(
    # None: `uvicorn main:app`, which sets up uvicorn's logging before importing the app (main.py does the reverse).
    "command",
    [[sys.executable, "main.py"], None],
    ids=["python-main", "uvicorn"],
)


def logged_health_request(command: list[str] | None, env: dict[str, str], log_path) -> list[str]:
    """The server's log lines, from start to stop, around one health request with id `one-line-please`."""
    with live_server({**env, "AUTO_TRAIN": "false"}, log_path, command=command) as server:
        request = urllib.request.Request(f"{server.url}/api/v1/health", headers={"X-Request-ID": "one-line-please"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
    return log_path.read_text().splitlines()


@pytest.mark.slow
@SERVER_COMMANDS
def test_each_request_is_logged_once_in_text(command, model_dir, tmp_path):
    lines = logged_health_request(command, {"MODEL_DIR": str(model_dir)}, tmp_path / "server.log")
    assert len([line for line in lines if "one-line-please" in line]) == 1
    assert not [line for line in lines if '"GET /api/v1/health HTTP/1.1"' in line]  # uvicorn's access line


@pytest.mark.slow
@SERVER_COMMANDS
def test_each_request_is_logged_once_and_every_line_is_json_with_log_format_json(command, model_dir, tmp_path):
    env = {"MODEL_DIR": str(model_dir), "LOG_FORMAT": "json"}
    records = [json.loads(line) for line in logged_health_request(command, env, tmp_path / "server.log")]
    assert [record["path"] for record in records if record.get("request_id") == "one-line-please"] == ["/api/v1/health"]
    # uvicorn's own lines are there, as JSON.
    assert any(record["message"].startswith("Uvicorn running on") for record in records)


@pytest.mark.slow
def test_every_line_of_the_worker_supervisor_is_json_too(model_dir, tmp_path):
    # The image's own settings (WORKERS=2, LOG_FORMAT=json): the supervisor builds no app, and its lines (the address
    # it listens on, a worker replaced) were dropped or plain text.
    env = {"MODEL_DIR": str(model_dir), "LOG_FORMAT": "json", "WORKERS": "2", "AUTO_TRAIN": "false"}
    with live_server(env, tmp_path / "server.log", command=[sys.executable, "main.py"]):
        pass
    records = [json.loads(line) for line in (tmp_path / "server.log").read_text().splitlines()]
    messages = [record["message"] for record in records]
    assert any(message.startswith("Uvicorn running on http://127.0.0.1:") for message in messages)
    assert any(message.startswith("Started parent process") for message in messages)


@pytest.mark.slow
def test_python_main_py_answers_without_a_server_header(model_dir, tmp_path):
    env = {"MODEL_DIR": str(model_dir), "AUTO_TRAIN": "false"}
    with (
        live_server(env, tmp_path / "server.log", command=[sys.executable, "main.py"]) as server,
        urllib.request.urlopen(f"{server.url}/api/v1/health", timeout=10) as response,
    ):
        status, headers = response.status, response.headers
    assert status == 200
    assert headers.get("server") is None
    assert headers["cache-control"] == "no-store" and "camera=()" in headers["permissions-policy"]


def test_the_gil_switch_interval_follows_the_setting_from_start_up_to_shutdown(make_settings):
    before = sys.getswitchinterval()
    try:
        with TestClient(create_app(make_settings(gil_switch_ms=2.5))):
            assert sys.getswitchinterval() == pytest.approx(0.0025)
        assert sys.getswitchinterval() == before
    finally:
        sys.setswitchinterval(before)


def test_an_app_shut_down_leaves_the_garbage_collector_as_it_found_it(make_settings):
    found = gc.get_threshold(), gc.get_freeze_count()
    with TestClient(create_app(make_settings(gc_tuning=True))):
        assert gc.get_threshold() == TUNED_GC_THRESHOLD
        assert gc.get_freeze_count() > 0
    # Left frozen, everything the app loaded would stay in memory for the rest of the process.
    assert (gc.get_threshold(), gc.get_freeze_count()) == found


@pytest.mark.parametrize("value", ["0", "0.05", "-1", "101", "nan", "fast"])
def test_a_gil_switch_interval_out_of_range_is_refused(make_settings, value):
    with pytest.raises(ValueError, match="gil_switch_ms"):
        make_settings(gil_switch_ms=value)


BAD_SETTINGS = {"PORT": "abc", "LOG_LEVEL": "LOUD", "JWT_SECRET": "shortSECRETVAL", "DATABASE_URL": "bogus://x"}


@pytest.mark.parametrize(
    "command",
    [[sys.executable, "main.py"], [sys.executable, "-m", "uvicorn", "main:app", "--no-proxy-headers"]],
    ids=["python-main", "uvicorn"],
)
def test_bad_settings_stop_start_up_with_one_line_each_and_exit_2(command):
    finished = subprocess.run(
        command, cwd=PROJECT_ROOT, env={**os.environ, **BAD_SETTINGS}, capture_output=True, text=True, timeout=60
    )
    assert finished.returncode == 2
    lines = finished.stderr.splitlines()
    assert sorted(line.split(":")[0] for line in lines) == [f"invalid setting {name}" for name in sorted(BAD_SETTINGS)]
    assert "Traceback" not in finished.stderr and "SECRETVAL" not in finished.stderr


@pytest.mark.slow
def test_bad_settings_stop_uvicorns_worker_supervisor_instead_of_restarting_workers():
    command = [sys.executable, "-m", "uvicorn", "main:app", "--workers", "2", "--port", str(free_port())]
    finished = subprocess.run(
        command, cwd=PROJECT_ROOT, env={**os.environ, "PORT": "abc"}, capture_output=True, text=True, timeout=120
    )
    assert "failed to start, stopping the parent process" in finished.stderr
    assert "Traceback" not in finished.stderr and "died" not in finished.stderr


def test_importing_main_builds_no_app_until_one_is_asked_for():
    # uvicorn's supervisor of WORKERS > 1 imports main only to start workers: it must not keep an app of its own.
    code = (
        "import sys, main\n"
        "print('app.main' in sys.modules)\n"
        "from main import app\n"
        "print(type(app).__name__, main.app is app)\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    assert finished.stdout.split() == ["False", "FastAPI", "True"]


def test_main_has_no_other_attributes_made_up():
    import main

    with pytest.raises(AttributeError, match="no attribute 'apps'"):
        main.apps  # noqa: B018


def test_an_attribute_error_building_the_app_is_not_read_as_a_missing_app(monkeypatch):
    import main
    from app import main as app_main

    def broken(settings):
        raise AttributeError("'NoneType' object has no attribute 'x'")

    monkeypatch.setattr(app_main, "create_app", broken)
    monkeypatch.delitem(main.__dict__, "app", raising=False)
    with pytest.raises(RuntimeError, match="building the app failed: 'NoneType' object has no attribute 'x'"):
        main.__getattr__("app")


def test_shutdown_writes_the_prediction_log_before_waiting_for_any_other_worker(
    make_settings, tmp_path, monkeypatch, caplog
):
    from app import main
    from app.services.monitoring import workers
    from app.services.monitoring.prediction_log import PredictionLogWriter

    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"

    def held_log(*, engine, database, max_rows, **_) -> PredictionLogWriter:
        # Its next pass would be in an hour: what it queues is still queued when the app stops.
        writer = PredictionLogWriter(engine, max_rows=max_rows, database=database, flush_interval=3_600)
        writer.start()
        return writer

    class Hung:
        """Stands in for a worker's thread that never ends; notes how many rows the log held when waited for."""

        def __init__(self) -> None:
            self.seen: list[int] = []

        def join(self, timeout: float | None = None) -> None:
            self.seen.append(logged_at(url))

        def is_alive(self) -> bool:
            return True

    drainers = []
    start_notifications = main.start_notifications

    def kept_drainer(**kwargs):
        drainers.append(start_notifications(**kwargs))
        return drainers[-1]

    monkeypatch.setattr(workers, "open_prediction_log", held_log)
    monkeypatch.setattr(main, "start_notifications", kept_drainer)
    hung_drainer, hung_mirror = Hung(), Hung()
    caplog.set_level(logging.WARNING, logger="app.services.shutdown")
    with TestClient(create_app(make_settings(database_url=url))) as client:
        assert client.post("/api/v1/predict", json={"annual_income": 50, "spending_score": 50}).status_code == 200
        assert client.app.state.prediction_log.pending == 1
        drainers[0]._thread, client.app.state.activation_mirror._thread = hung_drainer, hung_mirror
    assert hung_drainer.seen == [1] and hung_mirror.seen == [1]
    assert logged_at(url) == 1
    assert "left behind: activation mirror, notification drainer" in caplog.text
