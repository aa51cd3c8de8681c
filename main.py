"""Entry point: `python main.py` serves on HOST:PORT with WORKERS processes.

`uvicorn main:app --no-proxy-headers` works too: without that flag uvicorn takes the client address from
X-Forwarded-For on connections from 127.0.0.1, whatever TRUST_FORWARDED_FOR says.
"""

import os
import signal
import sys
import tempfile
from pathlib import Path

import uvicorn

from app.core.config import get_settings
from app.main import create_app, uvicorn_options

app = create_app()


def _graceful_exit(signum: int, frame: object) -> None:
    """uvicorn re-raises SIGTERM once it has drained; a drained stop is a clean one, so exit 0."""
    sys.exit(0)


if __name__ == "__main__":
    settings = get_settings()
    if settings.workers > 1 and settings.prometheus_multiproc_dir is None:
        # Without a shared folder each worker would report only its own share of the traffic.
        folder = Path(tempfile.gettempdir()) / f"customer-segmentation-metrics-{settings.port}"
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    signal.signal(signal.SIGTERM, _graceful_exit)
    # The app object for one process (an import string would build a second app); workers need the string.
    uvicorn.run("main:app" if settings.workers > 1 else app, **uvicorn_options(settings))
