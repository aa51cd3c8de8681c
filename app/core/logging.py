"""Logging set-up: readable text or one JSON object per line, and no line a client can forge or flood."""

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from app.core.config import Settings
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
    """A traceback's lines, each with control characters escaped, at most MAX_EXCEPTION_CHARS in all."""
    if len(text) > MAX_EXCEPTION_CHARS:
        text = text[:MAX_EXCEPTION_CHARS] + "\n… (traceback cut)"
    return [escape_controls(line) for line in text.splitlines()]


class JsonFormatter(logging.Formatter):
    """One JSON object per record, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as a single JSON line."""
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": safe_text(record.getMessage(), MAX_VALUE_CHARS),
        }
        payload.update({name: _value(getattr(record, name)) for name in CONTEXT_FIELDS if hasattr(record, name)})
        if record.exc_info:
            payload["exception"] = "\n".join(_exception_lines(self.formatException(record.exc_info)))
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

    def format(self, record: logging.LogRecord) -> str:
        """Render the record on one line (its traceback, if any, indented below it)."""
        message = safe_text(record.getMessage(), MAX_VALUE_CHARS)
        line = f"{self.formatTime(record)} {record.levelname:<7} {record.name}: {message}"
        context = " ".join(_pair(name, getattr(record, name)) for name in CONTEXT_FIELDS if hasattr(record, name))
        if context:
            line = f"{line} {context}"
        if record.exc_info:
            trace = _exception_lines(self.formatException(record.exc_info))
            line += "".join(f"\n{EXCEPTION_INDENT}{trace_line}" for trace_line in trace)
        return line


def configure_logging(settings: Settings) -> None:
    """Send the app's logs to stderr in the configured format and level."""
    handler = logging.StreamHandler(sys.stderr)
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
    # The app logs every request itself (with request id and latency); uvicorn's own access line would
    # be a second, poorer copy, whether started by main.py or by `uvicorn main:app`.
    logging.getLogger("uvicorn.access").disabled = True
