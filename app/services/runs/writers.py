"""The child processes writing run indexes, kept so shutdown can end them: a child left behind is re-parented to
init and writes on for an hour. Standard library only, so the app's lifespan can stop them without loading pandas
and Arrow at start (app/services/runs/index.py starts them)."""

import contextlib
import subprocess
import threading
import time
from pathlib import Path

_lock = threading.Lock()
_children: set[subprocess.Popen] = set()
# Bumped by each stop: a watcher started before it (maybe waiting its turn) starts no child after it.
_generation = 0


def generation() -> int:
    """The current generation, for a watcher to start its child under."""
    return _generation


def start(command: list[str], generation: int, *, cwd: Path) -> subprocess.Popen | None:
    """Start and register a child, unless a stop came since its watcher started."""
    with _lock:
        if generation != _generation:
            return None
        child = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _children.add(child)
        return child


def forget(child: subprocess.Popen) -> None:
    """A child that ended, taken off the register."""
    with _lock:
        _children.discard(child)


def running_index_writers() -> list[subprocess.Popen]:
    """The index children alive now."""
    with _lock:
        return [child for child in _children if child.poll() is None]


class IndexWriters:
    """Every index child of this process, stopped as one worker: terminated at once, killed once time is up."""

    name = "run index writers"

    def __init__(self) -> None:
        self._children: list[subprocess.Popen] = []

    def request_stop(self) -> None:
        """Terminate every child; watchers still waiting start none. Never waits."""
        global _generation
        with _lock:
            _generation += 1
            self._children = list(_children)
        for child in self._children:
            with contextlib.suppress(OSError):
                child.terminate()

    def join(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds in all for the children to end, then kill the rest; always True (a killed
        child is gone too)."""
        deadline = time.monotonic() + timeout
        for child in self._children:
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError):
                    child.kill()
                child.wait()
        with _lock:
            _children.difference_update(self._children)
        return True


def stop_index_writers(timeout: float = 5.0) -> None:
    """End every index child: terminate, wait up to `timeout` seconds, then kill. Watchers still waiting start none."""
    writers = IndexWriters()
    writers.request_stop()
    writers.join(timeout)
