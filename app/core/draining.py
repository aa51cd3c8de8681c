"""Draining on SIGTERM: /readyz turns 503 at once, and the server goes on serving for DRAIN_SECONDS before it stops
accepting connections and finishes the requests in flight (uvicorn's own graceful shutdown, GRACEFUL_TIMEOUT).

uvicorn stops listening as soon as its SIGTERM handler runs, so without the pause a load balancer that health-checks
/readyz never sees it fail: its probes are refused (one worker) or left hanging (several), like every new request.
The pause is taken by wrapping the handler the server installed, from the app's lifespan, so it holds under
`python main.py`, `uvicorn main:app` and each worker of `--workers N` alike.
"""

import asyncio
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

logger = logging.getLogger(__name__)

DRAINING_REASON = "draining: the server is shutting down and takes no new traffic"


class Drain:
    """Whether this process has begun to stop (read by /readyz); set once, from the signal handler."""

    def __init__(self) -> None:
        self.started = False


@contextmanager
def drain_on_sigterm(drain: Drain, *, delay: float) -> Iterator[None]:
    """While the app runs, a SIGTERM starts `drain` at once and reaches the server's handler `delay` seconds later.

    A second SIGTERM, or a SIGINT (Ctrl-C), stops at once, as the server would. Needs the event loop's thread to be
    the main one, with a handler of the server's in place (uvicorn's): elsewhere (a TestClient's thread, a server
    that leaves signals alone) signals are left as they are.
    """
    on_term, on_int = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not (callable(on_term) and callable(on_int)):
        yield
        return
    loop = asyncio.get_running_loop()
    stopping = False

    def stop_later() -> None:
        if not stopping:  # a second signal has stopped the server meanwhile
            on_term(signal.SIGTERM, None)

    def pause() -> None:
        logger.info("draining: /readyz answers 503; the server stops accepting connections in %g s", delay)
        loop.call_later(delay, stop_later)

    def sigterm(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if drain.started or delay <= 0:
            drain.started = stopping = True
            on_term(signum, frame)
            return
        drain.started = True
        # From a signal handler only the thread-safe call may touch the loop (asyncio's own signal handling does
        # the same); the pause itself is scheduled on the loop.
        loop.call_soon_threadsafe(pause)

    def sigint(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        drain.started = stopping = True
        on_int(signum, frame)

    signal.signal(signal.SIGTERM, sigterm)
    signal.signal(signal.SIGINT, sigint)
    try:
        yield
    finally:
        stopping = True
        # The server's handlers back, unless someone has replaced ours meanwhile.
        for signum, ours, theirs in ((signal.SIGTERM, sigterm, on_term), (signal.SIGINT, sigint, on_int)):
            if signal.getsignal(signum) is ours:
                signal.signal(signum, theirs)
