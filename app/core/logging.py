"""Logging set-up: readable text or one JSON object per line."""

import json
import logging
import sys
from datetime import UTC, datetime

from app.core.config import Settings

# Fields that callers pass through `extra=` and that formatters print.
CONTEXT_FIELDS = ("request_id", "method", "path", "status", "duration_ms", "client")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as a single JSON line."""
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update({name: getattr(record, name) for name in CONTEXT_FIELDS if hasattr(record, name)})
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    """Readable lines with request context as key=value pairs."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """Render the record with its context fields appended."""
        line = super().format(record)
        context = " ".join(f"{name}={getattr(record, name)}" for name in CONTEXT_FIELDS if hasattr(record, name))
        return f"{line} {context}" if context else line


def configure_logging(settings: Settings) -> None:
    """Send the app's logs to stderr in the configured format and level."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    root = logging.getLogger("app")
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # Propagate too, so test log capture and any root handler the host sets up still see records.
    root.propagate = True
    # The app logs every request itself (with request id and latency); uvicorn's own access line would
    # be a second, poorer copy, whether started by main.py or by `uvicorn main:app`.
    logging.getLogger("uvicorn.access").disabled = True
