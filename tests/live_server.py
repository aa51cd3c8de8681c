"""Start an app under uvicorn on a free local port, and watch it, for tests and benchmarks that need a real server."""

import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
    process: subprocess.Popen | None = field(default=None, compare=False, repr=False)


@contextmanager
def live_server(
    env: dict[str, str],
    log_path: Path,
    *,
    app: str = "main:app",
    extra_args: tuple[str, ...] = (),
    command: list[str] | None = None,
    timeout: float = 60.0,
    ready_status: int = 200,
    ready_path: str = "/api/v1/health",
    tls: ssl.SSLContext | None = None,
) -> Iterator[Server]:
    """Run `uvicorn <app>` (or `command`, told its port through PORT) and yield it once `ready_path` answers.

    It must answer `ready_status`: 200 normally, 503 for a server started without a model on purpose. With `tls` (a
    client context trusting the server's certificate) the server speaks HTTPS and its url starts with https://.

    Unless `env` names a DATABASE_URL, the prediction log goes to a SQLite file beside the log, never the project's.
    """
    # Load from a test is not abuse: the prediction rate limit is lifted unless `env` sets one.
    env = {
        "DATABASE_URL": f"sqlite:///{log_path.with_suffix('.sqlite3')}",
        "RATE_LIMIT_PREDICT": "1000000/minute",
        # Drift found in a test's traffic must not train candidates into a models folder other tests share.
        "PROPOSALS_FROM_DRIFT": "false",
        **env,
    }
    listener = None
    # Several workers keep binding host and port themselves: with one inherited socket the kernel handed every
    # connection to the same worker in the shared-limit and metrics tests.
    if command is None and os.name == "posix" and "--workers" not in extra_args:
        # Hand uvicorn a socket that is already listening: a port found free and closed again can be taken by
        # any other process (or an outgoing connection) before the server binds it.
        listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
        port = listener.getsockname()[1]
        where = ("--fd", str(listener.fileno()))
    else:
        port = free_port()
        where = ("--host", "127.0.0.1", "--port", str(port))
    base_url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    # An inherited socket goes through a wrapper that keeps it a TCP socket (see tests/uvicorn_inherited.py).
    runner = "tests.uvicorn_inherited" if listener is not None else "uvicorn"
    argv = command or [sys.executable, "-m", runner, app, *where, *extra_args]
    started = time.perf_counter()
    with log_path.open("wb") as log:
        try:
            process = subprocess.Popen(
                argv,
                cwd=PROJECT_ROOT,
                env={**os.environ, "HOST": "127.0.0.1", "PORT": str(port), **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(listener.fileno(),) if listener else (),
            )
        finally:
            if listener is not None:
                listener.close()  # the server has its own copy
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"server exited with {process.returncode}: {log_path.read_text()[-2000:]}")
                try:
                    try:
                        with urllib.request.urlopen(f"{base_url}{ready_path}", timeout=2, context=tls) as response:
                            status = response.status
                    except urllib.error.HTTPError as exc:
                        status = exc.code
                    if status != ready_status:
                        raise OSError(f"health answered {status}")
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"server not ready in {timeout} s: {log_path.read_text()[-2000:]}") from None
                    time.sleep(0.02)
            yield Server(base_url, process.pid, time.perf_counter() - started, process)
        finally:
            stop_process(process)


def stop_process(process: subprocess.Popen) -> None:
    """Terminate a test server, killing it if it does not stop within 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for(predicate: Callable[[], object], timeout: float) -> float | None:
    """Seconds until `predicate()` holds, or None after `timeout` (polled every 20 ms)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.02)
    return None


def workers_started(log_path: Path) -> int:
    """How many workers have logged their start-up line (replacements included)."""
    return log_path.read_text().count("app.startup: started:")


def wait_for_workers(log_path: Path, count: int, timeout: float = 60.0) -> float:
    """Seconds until `count` workers have logged their start-up line, so each accepts connections (bounded)."""
    took = wait_for(lambda: workers_started(log_path) >= count, timeout)
    if took is None:
        raise RuntimeError(f"{count} workers did not start in {timeout} s: {log_path.read_text()[-2000:]}")
    return took


def worker_pids(supervisor: int) -> set[int]:
    """The supervisor's worker processes (Linux /proc), not multiprocessing's resource tracker."""
    try:
        children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    except OSError:
        return set()
    return {int(pid) for pid in children if b"spawn_main" in _cmdline(int(pid))}


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # it exited meanwhile
        return b""


def http_status(url: str, body: bytes | None = None) -> int:
    """Status of a GET (or a JSON POST when `body` is given) on a new connection; 0 when the connection fails."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0
