"""Rate limits: the in-memory storage (windows that renew, a sweep that forgets old clients), and the circuit
breaker and fallbacks in front of Redis."""

import asyncio
import logging
from collections.abc import Callable

import pytest
from limits.aio.strategies import FixedWindowRateLimiter
from redis.exceptions import ConnectionError as RedisConnectionError

from app.core import rate_limit
from app.core.errors import RateLimited
from app.core.rate_limit import LocalMemoryStorage, RateLimiter, StorageCircuit


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


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_circuit_opens_after_consecutive_failures_and_half_opens_after_the_delay():
    clock = FakeClock()
    circuit = StorageCircuit(failures=3, reset_seconds=5.0, clock=clock)
    assert [circuit.failed() for _ in range(2)] == [False, False]
    assert circuit.allows()
    assert circuit.failed() is True  # the third in a row opens it
    assert not circuit.allows()
    clock.now += 4.9
    assert not circuit.allows()
    clock.now += 0.1
    assert circuit.allows()  # one probe after the delay...
    assert not circuit.allows()  # ...and only one
    assert circuit.failed() is False  # a failed probe re-opens it for another delay
    clock.now += 4.9
    assert not circuit.allows()
    clock.now += 0.1
    assert circuit.allows()
    assert circuit.succeeded(probe=True) is True  # a probe that works closes it
    assert circuit.allows() and circuit.allows()


def test_circuit_success_starts_the_failure_count_again():
    circuit = StorageCircuit(failures=3, reset_seconds=5.0, clock=FakeClock())
    circuit.failed(), circuit.failed()
    assert circuit.succeeded(probe=False) is False
    assert [circuit.failed() for _ in range(3)] == [False, False, True]


def test_circuit_stays_open_when_a_call_admitted_before_it_opened_succeeds():
    clock = FakeClock()
    circuit = StorageCircuit(failures=3, reset_seconds=5.0, clock=clock)
    assert circuit.allows() and not circuit.is_open  # a call goes out while Redis still answers...
    assert [circuit.failed() for _ in range(3)] == [False, False, True]  # ...others time out once it froze...
    assert circuit.succeeded(probe=False) is False  # ...and its late answer proves nothing about now
    assert circuit.is_open and not circuit.allows()
    clock.now += 5
    assert circuit.allows() and circuit.is_open
    assert circuit.succeeded(probe=True) is True and not circuit.is_open


class SwitchableStorage(LocalMemoryStorage):
    """In-memory counts standing in for Redis: `down` makes every call fail as an unreachable Redis does."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.calls = 0

    def _reach(self) -> None:
        self.calls += 1
        if self.down:
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    async def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        self._reach()
        return await super().incr(key, expiry, amount)

    async def get(self, key: str) -> int:
        self._reach()
        return await super().get(key)

    async def get_expiry(self, key: str) -> float:
        self._reach()
        return await super().get_expiry(key)


@pytest.fixture
def shared(make_settings) -> Callable[..., tuple[RateLimiter, SwitchableStorage, FakeClock]]:
    """A limiter configured for Redis whose storage is a switchable stand-in, and the clock of its circuit."""

    def build(**overrides) -> tuple[RateLimiter, SwitchableStorage, FakeClock]:
        settings = make_settings(rate_limit_storage="redis://127.0.0.1:6379/0", **overrides)
        limiter = RateLimiter(settings)
        storage, clock = SwitchableStorage(), FakeClock()
        limiter.strategy = FixedWindowRateLimiter(storage)
        limiter.circuit.clock = clock
        return limiter, storage, clock

    return build


def hits(limiter: RateLimiter, policy_name: str, key: str, count: int) -> list[str]:
    """Count `count` requests of `key`; 'ok' or 'limited' for each."""

    async def run() -> list[str]:
        outcomes = []
        for _ in range(count):
            try:
                await limiter.hit(getattr(limiter, policy_name), key)
                outcomes.append("ok")
            except RateLimited:
                outcomes.append("limited")
        return outcomes

    return asyncio.run(run())


def test_predict_fails_open_and_leaves_redis_alone_while_the_circuit_is_open(shared, caplog):
    limiter, storage, _ = shared(rate_limit_predict="2/minute", rate_limit_circuit_failures=3)
    storage.down = True
    with caplog.at_level(logging.WARNING, logger="app.core.rate_limit"):
        assert hits(limiter, "predict", "203.0.113.9", 10) == ["ok"] * 10
    # Three failures in a row opened the circuit: the seven requests after them never waited on Redis.
    assert storage.calls == 3
    opened = [record.getMessage() for record in caplog.records if "circuit open" in record.getMessage()]
    assert len(opened) == 1 and "3 failures in a row" in opened[0]


def test_circuit_probes_after_the_delay_and_limits_apply_again_once_redis_answers(shared, caplog):
    limiter, storage, clock = shared(rate_limit_predict="2/minute", rate_limit_circuit_reset_seconds=5)
    storage.down = True
    hits(limiter, "predict", "203.0.113.9", 3)
    storage.down = False
    assert hits(limiter, "predict", "203.0.113.9", 3) == ["ok"] * 3  # still open: Redis not asked
    assert storage.calls == 3
    clock.now += 5
    with caplog.at_level(logging.WARNING, logger="app.core.rate_limit"):
        assert hits(limiter, "predict", "203.0.113.9", 3) == ["ok", "ok", "limited"]
    assert any("circuit closed" in record.getMessage() for record in caplog.records)


def test_failed_keys_fail_closed_to_counts_in_process_while_redis_is_down(shared):
    limiter, storage, _ = shared(rate_limit_admin="2/minute")
    storage.down = True
    assert hits(limiter, "admin", "ip:203.0.113.9", 4) == ["ok", "ok", "limited", "limited"]
    # Another client has its own allowance.
    assert hits(limiter, "admin", "ip:198.51.100.7", 1) == ["ok"]


def test_a_failed_key_lockout_in_force_outlives_redis_going_away(shared):
    limiter, storage, _ = shared(rate_limit_admin="2/minute")
    assert hits(limiter, "admin", "ip:203.0.113.9", 3) == ["ok", "ok", "limited"]
    storage.down = True

    async def check() -> None:
        await limiter.check(limiter.admin, "ip:203.0.113.9")

    with pytest.raises(RateLimited):
        asyncio.run(check())


def test_redis_decides_while_it_answers(shared):
    limiter, storage, _ = shared(rate_limit_admin="2/minute")
    # Counts in Redis were reset (another window, or a flush): the in-process copy does not refuse on its own.
    assert hits(limiter, "admin", "ip:203.0.113.9", 2) == ["ok", "ok"]
    storage.storage.clear()
    storage.expirations.clear()
    assert hits(limiter, "admin", "ip:203.0.113.9", 2) == ["ok", "ok"]
