"""Entry point: `python main.py` serves on HOST:PORT with WORKERS processes.

`uvicorn main:app --no-proxy-headers --no-server-header` works too. Without the first flag uvicorn takes the client
address and scheme from X-Forwarded-For and -Proto on connections from 127.0.0.1, whatever TRUSTED_PROXIES and
TRUST_FORWARDED_FOR say (the app applies that rule itself, app/core/proxy.py); without the second it
sends `Server: uvicorn` on every response, which the app cannot remove (uvicorn adds it after the app has answered).
"""

import multiprocessing
import signal
import sys

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from app.core.logging import configure_logging
from app.core.serving import uvicorn_options
from app.core.setting_errors import settings_or_exit

# A refused setting ends the process here with one line each: exit 2 from `python main.py` and `uvicorn main:app`. A
# worker of uvicorn's supervisor (`--workers N`) exits with uvicorn's start-up failure code instead: the supervisor
# restarts a worker that exits otherwise, and it would fail the same way for ever.
settings = settings_or_exit(STARTUP_FAILURE if multiprocessing.parent_process() else 2)


def __getattr__(name: str) -> object:
    """`main:app`, built when first asked for: uvicorn's supervisor of `--workers N` (`python main.py` with WORKERS
    above 1) only starts workers, which build their own, so it never imports the app (~240 MB it would keep)."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from app.main import create_app

    try:
        built = create_app(settings)
    except AttributeError as exc:
        # Raised out of a module __getattr__ it would read as "main has no attribute app", hiding the real error.
        raise RuntimeError(f"building the app failed: {exc}") from exc
    globals()["app"] = built
    return built


def _graceful_exit(signum: int, frame: object) -> None:
    """uvicorn re-raises SIGTERM once it has drained; a drained stop is a clean one, so exit 0."""
    sys.exit(0)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _graceful_exit)
    if settings.workers > 1:
        # uvicorn's supervisor builds no app, so nothing gave its loggers the app's format: in JSON its own lines
        # ("Uvicorn running on ...", a worker that died and was replaced) were dropped or written as plain text.
        configure_logging(settings)
    # The app object for one process (an import string would build a second app); workers need the string.
    uvicorn.run("main:app" if settings.workers > 1 else __getattr__("app"), **uvicorn_options(settings))
