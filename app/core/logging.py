"""Logging set-up: readable text or one JSON object per line, and no line a client can forge or flood."""

import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

from app.core.config import Settings
from app.utils.redact import scrub_credentials
from app.utils.text import escape_controls, safe_text

# Fields that callers pass through `extra=` and that formatters print.
CONTEXT_FIELDS = ("request_id", "method", "path", "status", "duration_ms", "client")
# Every logged value can carry client input (a path, a key name in a message): control characters are escaped
# so it cannot start a fake line or drive a terminal, and it is cut so one request cannot write megabytes.
MAX_VALUE_CHARS = 1_000
MAX_EXCEPTION_CHARS = 20_000
# Continuation lines of a traceback in text logs start with this, so no line but a record's first starts at
# the margin: a forged "2026-... ERROR ..." inside an exception message stays visibly part of the traceback.
EXCEPTION_INDENT = "  | "


def _value(value: Any) -> Any:
    """A context value made safe: numbers as they are, anything else as escaped, bounded text."""
    if value is None or isinstance(value, int | float):
        return value
    return safe_text(str(value), MAX_VALUE_CHARS)


def _exception_lines(text: str) -> list[str]:
    """A traceback's lines, each with control characters escaped and credentials hidden, at most
    MAX_EXCEPTION_CHARS in all."""
    if len(text) > MAX_EXCEPTION_CHARS:
        text = text[:MAX_EXCEPTION_CHARS] + "\n… (traceback cut)"
    # A database driver's message can quote the URL it was given, password and all (a connection string it could
    # not read); a traceback is where such a message reaches the log whole.
    return [escape_controls(scrub_credentials(line)) for line in text.splitlines()]


def _context(record: logging.LogRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in CONTEXT_FIELDS if hasattr(record, name)}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as a single JSON line."""
        exception = None
        if record.exc_info:
            exception = "\n".join(_exception_lines(self.formatException(record.exc_info)))
        return self.line(
            record.created, record.levelname, record.name, record.getMessage(), _context(record), exception
        )

    def line(
        self, created: float, level: str, name: str, message: str, context: dict[str, Any], exception: str | None = None
    ) -> str:
        """The line for one record's parts (records and the access log's direct path both come here)."""
        payload = {
            "time": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
            "level": level,
            "logger": name,
            "message": safe_text(message, MAX_VALUE_CHARS),
        }
        payload.update({key: _value(value) for key, value in context.items()})
        if exception is not None:
            payload["exception"] = exception
        return json.dumps(payload, default=str)


_NEEDS_QUOTES = frozenset(' "=\\')


def _pair(name: str, value: Any) -> str:
    """`name=value`, the value quoted (logfmt style) when it holds a space, a quote, an equals sign or nothing."""
    text = str(_value(value))
    if text and _NEEDS_QUOTES.isdisjoint(text):
        return f"{name}={text}"
    quoted = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'{name}="{quoted}"'


class TextFormatter(logging.Formatter):
    """Readable lines with request context as key=value pairs."""

    _seconds: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        """Render the record on one line (its traceback, if any, indented below it)."""
        line = self.line(record.created, record.levelname, record.name, record.getMessage(), _context(record))
        if record.exc_info:
            trace = _exception_lines(self.formatException(record.exc_info))
            line += "".join(f"\n{EXCEPTION_INDENT}{trace_line}" for trace_line in trace)
        return line

    def line(self, created: float, level: str, name: str, message: str, context: dict[str, Any]) -> str:
        """The first line for one record's parts (records and the access log's direct path both come here)."""
        # logging.Formatter.formatTime's default layout: local time, then milliseconds after a comma. The
        # seconds part is rendered once per second, not once per line.
        second = int(created)
        cached_second, seconds_text = self._seconds
        if second != cached_second:
            seconds_text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._seconds = (second, seconds_text)
        stamp = f"{seconds_text},{int((created - second) * 1000):03d}"
        line = f"{stamp} {level:<7} {name}: {safe_text(message, MAX_VALUE_CHARS)}"
        pairs = " ".join([_pair(key, value) for key, value in context.items()])
        return f"{line} {pairs}" if pairs else line


class AppLogHandler(logging.StreamHandler):
    """The app's one handler: stderr, in the configured format."""


class CurrentStderrHandler(logging.StreamHandler):
    """The libraries' fallback: whatever sys.stderr is when a record comes, as logging's own last resort does."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):  # type: ignore[override]  # read-only: a redirect of sys.stderr later is followed
        """The process's stderr now."""
        return sys.stderr


access_logger = logging.getLogger("app.access")


def log_access(context: dict[str, Any]) -> None:
    """Write one access line (message "request" with the request's context) to the app's log.

    Through `logging`, a record costs about 60 µs of a live server's time per request (a sixth of a predict call):
    most of it the record, the logger hierarchy and the handler's machinery. When the app's own handler is the
    only one the record would reach (no root handler, no filters: a server as configured here), the line is
    rendered by the same formatter and written straight to its stream. Anyone else listening (a host's root
    handler, pytest's capture) gets a real record.
    """
    handler = _sole_handler()
    if handler is None:
        access_logger.info("request", extra=context)
        return
    line = handler.formatter.line(time.time(), "INFO", access_logger.name, "request", context)
    try:
        with handler.lock:
            handler.stream.write(line + handler.terminator)
            handler.stream.flush()
    except Exception:  # a broken stream: logging's own path reports it (handleError) and never fails the request
        access_logger.info("request", extra=context)


def _sole_handler() -> AppLogHandler | None:
    if not access_logger.isEnabledFor(logging.INFO) or access_logger.handlers or access_logger.filters:
        return None
    app_logger = access_logger.parent
    if app_logger is None or app_logger.filters or len(app_logger.handlers) != 1:
        return None
    if app_logger.propagate and logging.root.handlers:
        return None
    handler = app_logger.handlers[0]
    if type(handler) is not AppLogHandler or handler.filters or handler.level > logging.INFO:
        return None
    return handler


def configure_logging(settings: Settings) -> None:
    """Send the app's logs to stderr in the configured format and level."""
    handler = AppLogHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    root = logging.getLogger("app")
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # Propagate too, so test log capture and any root handler the host sets up still see records.
    root.propagate = True
    # No formatter here prints the caller's file, line, thread or process: skip looking them up on every record
    # (the logging HOWTO's "Optimization" section); the access line is written once per request.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    # The app logs every request itself (with request id and latency); uvicorn's own access line would be a second,
    # poorer copy. This holds under `uvicorn main:app`, which sets up its logging before importing the app; main.py
    # sets up uvicorn's logging after, so it also passes access_log=False (app/core/serving.py, uvicorn_options).
    logging.getLogger("uvicorn.access").disabled = True
    # Libraries' own loggers (asyncio, SQLAlchemy's pool, python-multipart) have no handler: their warnings and
    # errors went to logging's last resort, as plain text with a raw traceback between the JSON lines. They get the
    # app's format, at WARNING and above as before, unless the host sets up a root handler (which then takes them).
    fallback = CurrentStderrHandler()
    fallback.setFormatter(handler.formatter)
    fallback.setLevel(logging.WARNING)
    logging.lastResort = fallback
    if settings.log_format == "json":
        # Python's warnings (a library's deprecation, scikit-learn's) printed two plain lines each: records instead.
        # captureWarnings gives their logger a NullHandler when it has none, which would hide them from the last
        # resort: without a root handler they get the fallback; with one (the host's, pytest's) they go to it.
        logging.captureWarnings(True)
        warnings_logger = logging.getLogger("py.warnings")
        warnings_logger.handlers[:] = [] if logging.getLogger().handlers else [fallback]
        warnings_logger.propagate = True
        # uvicorn's own lines (started, listening, shutting down, errors) would be plain text between the JSON
        # objects, and a log shipper reads one object per line.
        uvicorn_logger = logging.getLogger("uvicorn")
        uvicorn_logger.handlers[:] = [handler]
        uvicorn_logger.propagate = False
