"""System tools that tests drive for real: a skip on a developer's machine without them, a failure in CI."""

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import pytest

from tests.live_server import free_port, stop_process


def unavailable(message: str) -> NoReturn:
    """Skip a test that the machine cannot run; under CI=true, where `bash setup.sh test` provides it all, fail."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def need_tool(command: str, package: str) -> str:
    """The tool's path; skip when missing (fail under CI=true, where `bash setup.sh test` installs it)."""
    path = shutil.which(command)
    if path is None:
        unavailable(f"{command} is not installed (Debian package {package}; `bash setup.sh test` installs it)")
    return path


def promtool_check(text: str) -> subprocess.CompletedProcess[str]:
    """`promtool check metrics` over an exposition text."""
    promtool = need_tool("promtool", "prometheus")
    return subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)


@contextmanager
def redis_server(timeout: float = 20.0) -> Iterator[str]:
    """A throwaway redis-server on a free 127.0.0.1 port, without persistence; yields its redis:// URL."""
    with redis_process(timeout) as (url, _process):
        yield url


@contextmanager
def redis_process(timeout: float = 20.0) -> Iterator[tuple[str, subprocess.Popen]]:
    """The same throwaway redis-server, yielding its URL and its process (to freeze it with SIGSTOP, say)."""
    binary = need_tool("redis-server", "redis-server")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {port}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        # A frozen server would ignore the SIGTERM of stop_process.
        process.send_signal(signal.SIGCONT)
        stop_process(process)
