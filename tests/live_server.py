"""Start an app under uvicorn on a free local port, for tests and benchmarks that need a real server."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.core.config import PROJECT_ROOT


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Server:
    """A running server: where it listens, its process id, and how long it took to answer health."""

    url: str
    pid: int
    ready_seconds: float


@contextmanager
def live_server(
    env: dict[str, str],
    log_path: Path,
    *,
    app: str = "main:app",
    extra_args: tuple[str, ...] = (),
    command: list[str] | None = None,
    timeout: float = 60.0,
) -> Iterator[Server]:
    """Run `uvicorn <app>` (or `command`, told its port through PORT) and yield it once health answers 200.

    Unless `env` names a DATABASE_URL, the prediction log goes to a SQLite file beside the log, never the project's.
    """
    env = {"DATABASE_URL": f"sqlite:///{log_path.with_suffix('.sqlite3')}", **env}
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    argv = command or [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), *extra_args]
    started = time.perf_counter()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv,
            cwd=PROJECT_ROOT,
            env={**os.environ, "HOST": "127.0.0.1", "PORT": str(port), **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"server exited with {process.returncode}: {log_path.read_text()[-2000:]}")
                try:
                    with urllib.request.urlopen(f"{base_url}/api/v1/health", timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"server not ready in {timeout} s: {log_path.read_text()[-2000:]}") from None
                    time.sleep(0.02)
            yield Server(base_url, process.pid, time.perf_counter() - started)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
