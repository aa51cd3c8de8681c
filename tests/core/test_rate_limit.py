"""The in-memory rate-limit storage: fixed windows that renew when over, and a sweep that forgets old clients."""

import asyncio

from app.core import rate_limit
from app.core.rate_limit import LocalMemoryStorage


def test_counts_add_up_within_a_window_and_start_again_after_it(monkeypatch):
    now = [1_000.0]
    monkeypatch.setattr(rate_limit.time, "time", lambda: now[0])
    storage = LocalMemoryStorage()

    async def hits() -> list[int]:
        counts = [await storage.incr("client", 60) for _ in range(3)]
        assert await storage.get_expiry("client") == 1_060.0
        now[0] += 59.9
        counts.append(await storage.incr("client", 60))
        now[0] += 0.1  # the window is over
        counts.append(await storage.incr("client", 60))
        counts.append(await storage.get("client"))
        return counts

    assert asyncio.run(hits()) == [1, 2, 3, 4, 1, 1]


def test_expired_windows_of_clients_that_never_return_are_swept(monkeypatch):
    now = [1_000.0]
    monkeypatch.setattr(rate_limit.time, "time", lambda: now[0])
    storage = LocalMemoryStorage()

    async def hits() -> None:
        for client in range(1_000):
            await storage.incr(f"client-{client}", 1)
        now[0] += rate_limit.SWEEP_SECONDS
        await storage.incr("newcomer", 1)

    asyncio.run(hits())
    assert set(storage.storage) == {"newcomer"}
    assert set(storage.expirations) == {"newcomer"}
