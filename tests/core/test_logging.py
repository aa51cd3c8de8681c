"""Logged values cannot forge a line, drive a terminal or flood the log, in text and JSON formats alike."""

import io
import json
import logging
import subprocess
import sys

import pytest

from app.core.config import PROJECT_ROOT
from app.core.logging import EXCEPTION_INDENT, JsonFormatter, TextFormatter

FORGED = "x\n2026-11-28 00:00:00,000 ERROR   app.errors: FORGED\r\x1b[31mred\x1b[0m\x00\x85\u2028\u202e"
CONTROLS = [chr(code) for code in (*range(0x20), *range(0x7F, 0xA0))] + ["\u2028", "\u2029", "\u202e", "\u2066"]


def _record(message: str, *args, exc_info=None, **extra) -> logging.LogRecord:
    record = logging.LogRecord("app.errors", logging.ERROR, __file__, 1, message, args, exc_info)
    record.__dict__.update(extra)
    return record


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
def test_control_characters_in_any_value_are_escaped(formatter):
    record = _record("rejected request: %s", FORGED, path="/" + FORGED, request_id=FORGED, status=422)
    line = formatter.format(record)
    assert "\n" not in line and "\r" not in line
    assert not any(char in line for char in CONTROLS)
    if isinstance(formatter, JsonFormatter):
        payload = json.loads(line)
        # Decoded, the values still hold no control character: a shipper that prints them prints one line.
        for value in (payload["message"], payload["path"], payload["request_id"]):
            assert not any(char in value for char in CONTROLS)
            assert "\\n2026-11-28" in value and "\\x1b[31m" in value
        assert payload["status"] == 422
    else:
        assert line.count("FORGED") == 3 and "\\n2026-11-28" in line


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
def test_every_value_is_bounded(formatter):
    huge = "k" * 1_900_000
    line = formatter.format(_record("rejected request: %s", huge, path="/" + huge, client=huge))
    assert len(line) < 4_000


def test_text_context_values_cannot_forge_fields():
    line = TextFormatter().format(_record("request", path='/a status=200 "b\\', status=404))
    assert line.endswith('path="/a status=200 \\"b\\\\" status=404')


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
def test_a_traceback_cannot_forge_a_record(formatter):
    try:
        raise ValueError(FORGED + "k" * 100_000)
    except ValueError:
        record = _record("unhandled error", exc_info=sys.exc_info())
    line = formatter.format(record)
    assert len(line) < 25_000
    trace = line.split("\n", 1)[1] if isinstance(formatter, TextFormatter) else json.loads(line)["exception"]
    assert not any(char in trace for char in CONTROLS if char != "\n")
    if isinstance(formatter, TextFormatter):
        assert all(trace_line.startswith(EXCEPTION_INDENT) for trace_line in trace.split("\n"))
    # The message's own line break stays a line of the traceback, indented like the rest of it in text logs.
    assert "ValueError: x\n" in trace and "2026-11-28 00:00:00,000 ERROR   app.errors: FORGED" in trace


def test_a_forged_key_name_in_a_request_logs_one_line(client, caplog):
    caplog.set_level(logging.INFO, logger="app")
    raw = json.dumps({"annual_income": 5, "spending_score": 5, FORGED: 1}).encode()
    response = client.post(
        "/api/v1/predict", content=raw, headers={"content-type": "application/json", "x-request-id": "forge-1"}
    )
    assert response.status_code == 422
    records = [record for record in caplog.records if getattr(record, "request_id", None) == "forge-1"]
    assert {record.name for record in records} == {"app.errors", "app.access"}
    for formatter in (TextFormatter(), JsonFormatter()):
        for record in records:
            line = formatter.format(record)
            assert "\n" not in line and not any(char in line for char in CONTROLS)


@pytest.fixture
def app_log(monkeypatch):
    """The "app" logger with one AppLogHandler writing to a buffer, and nothing else listening (as in a server)."""
    import io

    from app.core.logging import AppLogHandler

    def use(formatter: logging.Formatter) -> io.StringIO:
        stream = io.StringIO()
        handler = AppLogHandler(stream)
        handler.setFormatter(formatter)
        monkeypatch.setattr(logging.getLogger("app"), "handlers", [handler])
        monkeypatch.setattr(logging.getLogger("app"), "level", logging.INFO)
        monkeypatch.setattr(logging.root, "handlers", [])  # pytest's capture handlers, put back after the test
        return stream

    return use


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
def test_direct_access_line_equals_the_formatted_record(app_log, monkeypatch, formatter):
    from app.core import logging as app_logging

    stream = app_log(formatter)
    context = {"request_id": FORGED, "method": "POST", "path": "/" + FORGED, "status": 200, "duration_ms": 1.25}
    # Only the app's handler listens, so the line is written without a record.
    monkeypatch.setattr(app_logging.access_logger, "info", lambda *args, **kwargs: pytest.fail("made a record"))
    app_logging.log_access(context)
    written = stream.getvalue()
    record = logging.LogRecord("app.access", logging.INFO, __file__, 1, "request", (), None)
    record.__dict__.update(context)
    expected = formatter.format(record) + "\n"
    if isinstance(formatter, JsonFormatter):
        written, expected = ({**json.loads(line), "time": "-"} for line in (written, expected))
    else:
        written, expected = written.split(" ", 2)[2], expected.split(" ", 2)[2]  # the same line after its time
    assert written == expected
    assert "FORGED" in stream.getvalue() and stream.getvalue().count("\n") == 1


def test_access_line_is_a_record_when_others_listen(app_log, caplog):
    from app.core.logging import log_access

    stream = app_log(TextFormatter())
    logging.root.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="app.access")
    log_access({"request_id": "r-9", "status": 201})
    assert [(record.request_id, record.status) for record in caplog.records] == [("r-9", 201)]
    assert "request_id=r-9 status=201" in stream.getvalue()


def test_a_broken_log_stream_never_fails_the_request(app_log, monkeypatch):
    from app.core.logging import log_access

    stream = app_log(TextFormatter())

    def broken(text: str) -> int:
        raise BrokenPipeError("stderr is gone")

    monkeypatch.setattr(stream, "write", broken)
    monkeypatch.setattr(logging, "raiseExceptions", False)  # as in production: handleError stays quiet
    log_access({"request_id": "r-1", "status": 200})  # must not raise


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
def test_access_line_names_the_client_as_the_proxy_rule_reads_it(app_log, client_for_peer, formatter):
    direct = client_for_peer(("203.0.113.7", 40001))
    proxied = client_for_peer(("10.0.0.2", 40002), trusted_proxies="10.0.0.0/8")
    stream = app_log(formatter)  # after the apps are built: create_app sets up the app's handler itself
    assert direct.get("/livez", headers={"X-Request-ID": "peer-1"}).status_code == 200
    forwarded = {"X-Request-ID": "proxied-1", "X-Forwarded-For": "198.51.100.9, 10.0.0.3"}
    assert proxied.get("/livez", headers=forwarded).status_code == 200
    # A forwarded header from a peer that is not a trusted proxy is the client's own word: not believed.
    spoofed = {"X-Request-ID": "spoofed-1", "X-Forwarded-For": "192.0.2.1"}
    assert direct.get("/livez", headers=spoofed).status_code == 200
    lines = stream.getvalue().splitlines()
    if isinstance(formatter, JsonFormatter):
        clients = {entry["request_id"]: entry["client"] for entry in map(json.loads, lines)}
    else:
        clients = {
            line.split("request_id=", 1)[1].split(" ", 1)[0]: line.split(" client=", 1)[1].split(" ", 1)[0]
            for line in lines
        }
    assert clients == {"peer-1": "203.0.113.7", "proxied-1": "198.51.100.9", "spoofed-1": "203.0.113.7"}


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
def test_a_traceback_never_carries_a_database_password(formatter):
    try:
        raise ValueError('invalid dsn: missing "=" after "postgresql://app:s3cret-Pw@db/segments"')
    except ValueError:
        record = _record("the notification outbox could not be read", exc_info=sys.exc_info())
    line = formatter.format(record)
    assert "s3cret" not in line
    assert "postgresql://app:***@db/segments" in line


LIBRARY_LINES = """
import logging, warnings
from app.core.config import Settings
from app.core.logging import configure_logging
configure_logging(Settings(_env_file=None, log_format="json"))
try:
    raise ConnectionError("cannot reach postgresql+psycopg://app:DBSECRET@db:5432/segments")
except ConnectionError:
    logging.getLogger("asyncio").error("Task exception was never retrieved", exc_info=True)
logging.getLogger("sqlalchemy.pool.impl.QueuePool").warning("Exception during reset or similar")
logging.getLogger("sqlalchemy.engine").info("not shown: below WARNING, as before")
warnings.warn("a library's deprecation")
"""


def test_json_logs_hold_libraries_warnings_and_errors_as_json_lines():
    # With no root handler, they went to logging's last resort: plain text, a raw traceback, between the JSON lines.
    result = subprocess.run(
        [sys.executable, "-c", LIBRARY_LINES], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(record["logger"], record["level"]) for record in records] == [
        ("asyncio", "ERROR"), ("sqlalchemy.pool.impl.QueuePool", "WARNING"), ("py.warnings", "WARNING"),
    ]  # fmt: skip
    assert "ConnectionError" in records[0]["exception"] and "DBSECRET" not in result.stderr
    assert "a library's deprecation" in records[2]["message"]


def test_with_a_root_handler_python_warnings_go_to_it(caplog):
    # The host's handler (here pytest's) takes them: a handler of their own, not propagating, kept them from it.
    import warnings

    from app.core.config import Settings
    from app.core.logging import configure_logging

    # Off first: an earlier test's JSON app turned it on inside pytest's own catch_warnings, which then put back
    # its showwarning, and turning it on again would do nothing.
    logging.captureWarnings(False)
    configure_logging(Settings(_env_file=None, log_format="json"))
    try:
        with caplog.at_level(logging.WARNING, logger="py.warnings"), warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("a library's deprecation, seen by the host", stacklevel=1)
        assert any("seen by the host" in record.getMessage() for record in caplog.records)
    finally:
        logging.captureWarnings(False)


def test_the_libraries_fallback_writes_to_stderr_as_it_is_when_a_record_comes(monkeypatch):
    # It kept the stderr of configure time: a process that redirects stderr later (a test's capture, a daemon's
    # reopened log) had library warnings written to the old stream.
    from app.core.config import Settings
    from app.core.logging import configure_logging

    configure_logging(Settings(_env_file=None, log_format="json"))
    later = io.StringIO()
    monkeypatch.setattr(sys, "stderr", later)
    logging.lastResort.handle(logging.makeLogRecord({"name": "asyncio", "levelno": 40, "levelname": "ERROR",
                                                     "msg": "Task exception was never retrieved"}))  # fmt: skip
    assert json.loads(later.getvalue())["message"] == "Task exception was never retrieved"
