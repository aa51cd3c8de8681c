"""SIGTERM turns readiness off at once and reaches the server's own handler after the pause; a second signal at once."""

import asyncio
import signal
import threading

import pytest

from app.core.draining import Drain, drain_on_sigterm

pytestmark = pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="signal handlers live in the main thread"
)


@pytest.fixture
def server_handlers():
    """Stand-ins for the handlers a server (uvicorn) installs, recording what reached them; put back afterwards."""
    received: list[int] = []

    def handle(signum, frame) -> None:
        received.append(signum)

    saved = signal.signal(signal.SIGTERM, handle), signal.signal(signal.SIGINT, handle)
    yield received, handle
    signal.signal(signal.SIGTERM, saved[0])
    signal.signal(signal.SIGINT, saved[1])


def run(delay: float, signals: list[int], *, wait_for_server: bool = False) -> list[bool]:
    """Send `signals` to this process while the drain is installed; whether the drain had started after each."""
    drain, started = Drain(), []

    async def main() -> None:
        with drain_on_sigterm(drain, delay=delay):
            for signum in signals:
                signal.raise_signal(signum)
                await asyncio.sleep(0)  # the loop runs what the handler scheduled
                started.append(drain.started)
            if wait_for_server:
                await asyncio.sleep(delay * 4)  # the loop fires the pause's end, due earlier, before this

    asyncio.run(main())
    return started


def test_sigterm_starts_the_drain_at_once_and_a_second_one_stops_the_server(server_handlers):
    received, _ = server_handlers
    assert run(3_600, [signal.SIGTERM]) == [True]
    assert received == []  # still serving: the server has not been told
    assert run(3_600, [signal.SIGTERM, signal.SIGTERM]) == [True, True]
    assert received == [signal.SIGTERM]


def test_the_server_is_told_when_the_pause_is_over(server_handlers):
    received, _ = server_handlers
    run(0.05, [signal.SIGTERM], wait_for_server=True)
    assert received == [signal.SIGTERM]


def test_without_a_pause_sigterm_reaches_the_server_at_once(server_handlers):
    received, _ = server_handlers
    assert run(0, [signal.SIGTERM]) == [True]
    assert received == [signal.SIGTERM]


def test_sigint_stops_at_once_and_the_pause_then_tells_the_server_nothing_more(server_handlers):
    received, _ = server_handlers
    run(0.05, [signal.SIGTERM, signal.SIGINT], wait_for_server=True)
    assert received == [signal.SIGINT]


def test_the_servers_handlers_are_back_when_the_app_stops(server_handlers):
    _, handle = server_handlers
    run(3_600, [])
    assert signal.getsignal(signal.SIGTERM) is handle and signal.getsignal(signal.SIGINT) is handle


def test_nothing_is_installed_without_a_handler_of_the_servers():
    saved = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        run(3_600, [])
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, saved)
