"""Rate limits with `limits`: fixed windows kept in memory (per worker) or in Redis (shared by every worker)."""

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from redis.exceptions import RedisError

from app.core.config import Settings
from app.core.errors import RateLimited
from app.core.metrics import record_rate_limit_circuit, record_rate_limited

logger = logging.getLogger(__name__)
# Seconds between sweeps of expired in-memory windows (which bound the memory of clients that never return).
SWEEP_SECONDS = 10.0


class LocalMemoryStorage(MemoryStorage):
    """limits' in-memory storage, counting fixed windows without its per-hit sweep task.

    limits' own `incr` takes a lock and schedules an asyncio task to sweep expired keys on every hit: a task per
    request on the predict path. One event loop needs no lock (nothing awaits between reading and writing a
    count), a window is renewed when a hit finds it expired, and expired keys are swept at most every
    SWEEP_SECONDS.
    """

    def __init__(self, uri: str | None = None, **options: str) -> None:
        super().__init__(uri, **options)
        self._next_sweep = 0.0

    async def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add `amount` to the key's count in its current window (a new window when the last one is over)."""
        now = time.time()
        if now >= self._next_sweep:
            self._sweep(now)
        if self.expirations.get(key, 0.0) <= now:
            self.storage[key] = 0
            self.expirations[key] = now + expiry
        self.storage[key] += amount
        return self.storage[key]

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + SWEEP_SECONDS
        for key in [key for key, expires in self.expirations.items() if expires <= now]:
            self.storage.pop(key, None)
            self.expirations.pop(key, None)


def _storage(settings: Settings) -> Storage:
    """In-memory storage, or Redis through redis-py's asyncio client with short timeouts."""
    uri = settings.rate_limit_storage.get_secret_value()
    if uri.startswith("memory://"):
        return LocalMemoryStorage()
    # Plain redis:// in settings reads naturally; the asyncio storage wants its own scheme. redis-py does not retry
    # a timed-out command when built from a URL, so a frozen Redis costs a request one timeout, no more.
    return RedisStorage(
        f"async+{uri}",
        implementation="redispy",
        socket_timeout=settings.rate_limit_storage_timeout,
        socket_connect_timeout=settings.rate_limit_storage_timeout,
    )


class StorageCircuit:
    """Open after `failures` storage failures in a row; then let one request try every `reset_seconds` (half-open)."""

    def __init__(self, *, failures: int, reset_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = failures
        self.reset_seconds = reset_seconds
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None

    def allows(self) -> bool:
        """Whether this request may use the storage: always while closed, and once per delay while open."""
        if self.opened_at is None:
            return True
        now = self.clock()
        if now < self.opened_at + self.reset_seconds:
            return False
        # This request probes; the others wait another delay, so a probe that never ends blocks nothing for good.
        self.opened_at = now
        return True

    @property
    def is_open(self) -> bool:
        """Whether the storage is left alone but for a probe now and then."""
        return self.opened_at is not None

    def succeeded(self, *, probe: bool) -> bool:
        """Record a storage call that worked; True when it was a probe and closed the open circuit."""
        if self.opened_at is not None and not probe:
            # Admitted before the circuit opened: its answer may predate the outage, so only a probe's closes it.
            return False
        self.failures = 0
        was_open, self.opened_at = self.opened_at is not None, None
        return was_open

    def failed(self) -> bool:
        """Record a failed storage call; True when it opened a closed circuit."""
        self.failures += 1
        was_open = self.opened_at is not None
        if was_open or self.failures >= self.threshold:
            self.opened_at = self.clock()
        return not was_open and self.opened_at is not None


@dataclass(frozen=True)
class RateLimitPolicy:
    """A named set of limits (all must hold), e.g. predict = 600/minute.

    `fail_closed` policies are also counted in process, and decided there while the shared storage is out of
    reach; the others let every request through then.
    """

    name: str
    limits: tuple[RateLimitItem, ...]
    fail_closed: bool = False


@dataclass(frozen=True)
class Verdict:
    """A spent limit, and the seconds until its window resets."""

    limit: RateLimitItem
    retry_after: int


async def _verdict(
    strategy: FixedWindowRateLimiter, policy: RateLimitPolicy, key: str, *, count: bool
) -> Verdict | None:
    """The first spent limit of `policy` for `key` (counting this request when `count`), or None when all hold."""
    for limit in policy.limits:
        allowed = await (strategy.hit if count else strategy.test)(limit, policy.name, key)
        if not allowed:
            reset_at, _ = await strategy.get_window_stats(limit, policy.name, key)
            return Verdict(limit, max(1, math.ceil(reset_at - time.time())))
    return None


class RateLimiter:
    """Count hits per policy and key in fixed windows; refuse with RateLimited once a limit is spent.

    With Redis, a circuit breaker keeps an unreachable or frozen Redis from costing every request a timeout:
    predictions fail open (unlimited) while it is out of reach, and failed admin keys fail closed, to counts kept
    in this process (which also hold a lockout already in force when Redis goes away).
    """

    def __init__(self, settings: Settings) -> None:
        self.storage = _storage(settings)
        self.strategy = FixedWindowRateLimiter(self.storage)
        # Only a shared storage can be out of reach; in memory there is nothing to fall back to.
        self.fallback = (
            None if isinstance(self.storage, LocalMemoryStorage) else FixedWindowRateLimiter(LocalMemoryStorage())
        )
        self.circuit = StorageCircuit(
            failures=settings.rate_limit_circuit_failures, reset_seconds=settings.rate_limit_circuit_reset_seconds
        )
        record_rate_limit_circuit(is_open=False)
        self.predict = RateLimitPolicy("predict", tuple(parse_many(settings.rate_limit_predict)))
        self.admin = RateLimitPolicy("admin", tuple(parse_many(settings.rate_limit_admin)), fail_closed=True)
        # Failed sign-ins, per account and per client address.
        self.login = RateLimitPolicy("login", tuple(parse_many(settings.rate_limit_login)), fail_closed=True)

    async def hit(self, policy: RateLimitPolicy, key: str) -> None:
        """Count one request for `key`; raise RateLimited with the seconds until the window resets."""
        await self._limit(policy, key, count=True)

    async def check(self, policy: RateLimitPolicy, key: str) -> None:
        """Raise RateLimited when `key` has already spent a limit of `policy`, without counting this request."""
        await self._limit(policy, key, count=False)

    async def _limit(self, policy: RateLimitPolicy, key: str, *, count: bool) -> None:
        if self.fallback is None:
            verdict = await _verdict(self.strategy, policy, key, count=count)
        else:
            local = await _verdict(self.fallback, policy, key, count=count) if policy.fail_closed else None
            reached, shared = await self._ask_shared(policy, key, count=count)
            verdict = shared if reached else local
        if verdict is not None:
            record_rate_limited(limit=policy.name)
            raise RateLimited(
                f"too many requests: the {policy.name} limit is {verdict.limit}; retry after {verdict.retry_after} s",
                retry_after=verdict.retry_after,
            )

    async def _ask_shared(self, policy: RateLimitPolicy, key: str, *, count: bool) -> tuple[bool, Verdict | None]:
        """Whether the shared storage answered (not while the open circuit keeps it from being asked), and how."""
        if not self.circuit.allows():
            return False, None
        probe = self.circuit.is_open  # admitted while open: this call is the probe
        try:
            verdict = await _verdict(self.strategy, policy, key, count=count)
        except (RedisError, OSError) as exc:
            if self.circuit.failed():
                record_rate_limit_circuit(is_open=True)
                logger.warning(
                    "rate-limit storage unreachable (%s failures in a row, last: %s: %s): circuit open, predictions "
                    "are not limited and failed admin keys are counted in this process; retrying every %s s",
                    self.circuit.failures,
                    type(exc).__name__,
                    exc,
                    self.circuit.reset_seconds,
                )
            return False, None
        if self.circuit.succeeded(probe=probe):
            record_rate_limit_circuit(is_open=False)
            logger.warning("rate-limit storage reachable again: circuit closed, limits are shared again")
        return True, verdict


def key_digest(api_key: str) -> str:
    """A short stable digest of an API key, so keys never sit in the limiter's storage."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:32]
