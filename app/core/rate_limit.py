"""Rate limits with `limits`: fixed windows kept in memory (per worker) or in Redis (shared by every worker)."""

import hashlib
import logging
import math
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from ipaddress import ip_address
from typing import NoReturn

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from redis.exceptions import RedisError

from app.core.config import Settings
from app.core.errors import RateLimited
from app.core.metrics import record_rate_limited

logger = logging.getLogger(__name__)
# A request waits at most this long for Redis before it is let through unlimited.
REDIS_TIMEOUT_SECONDS = 0.5
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


def _storage(uri: str) -> Storage:
    """In-memory storage, or Redis through redis-py's asyncio client."""
    if uri.startswith("memory://"):
        return LocalMemoryStorage()
    # Plain redis:// in settings reads naturally; the asyncio storage wants its own scheme.
    return RedisStorage(
        f"async+{uri}",
        implementation="redispy",
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )


@dataclass(frozen=True)
class RateLimitPolicy:
    """A named set of limits (all must hold), e.g. predict = 600/minute."""

    name: str
    limits: tuple[RateLimitItem, ...]


class RateLimiter:
    """Count hits per policy and key in fixed windows; refuse with RateLimited once a limit is spent."""

    def __init__(self, settings: Settings) -> None:
        self.storage = _storage(settings.rate_limit_storage)
        self.strategy = FixedWindowRateLimiter(self.storage)
        self.predict = RateLimitPolicy("predict", tuple(parse_many(settings.rate_limit_predict)))
        self.admin = RateLimitPolicy("admin", tuple(parse_many(settings.rate_limit_admin)))
        self.storage_down = False

    async def hit(self, policy: RateLimitPolicy, key: str) -> None:
        """Count one request for `key`; raise RateLimited with the seconds until the window resets.

        If the shared storage cannot be reached the request is let through: a Redis outage must not take
        predictions down with it. The outage is logged once, and its end once.
        """
        await self._guarded(self._hit(policy, key))

    async def check(self, policy: RateLimitPolicy, key: str) -> None:
        """Raise RateLimited when `key` has already spent a limit of `policy`, without counting this request."""
        await self._guarded(self._check(policy, key))

    async def _guarded(self, counting: Coroutine[None, None, None]) -> None:
        try:
            await counting
        except (RedisError, OSError) as exc:
            if not self.storage_down:
                logger.warning("rate-limit storage unreachable, requests are not limited until it is back: %s", exc)
            self.storage_down = True
            return
        if self.storage_down:
            logger.warning("rate-limit storage reachable again, limits apply")
            self.storage_down = False

    async def _hit(self, policy: RateLimitPolicy, key: str) -> None:
        for limit in policy.limits:
            if not await self.strategy.hit(limit, policy.name, key):
                await self._refuse(policy, limit, key)

    async def _check(self, policy: RateLimitPolicy, key: str) -> None:
        for limit in policy.limits:
            if not await self.strategy.test(limit, policy.name, key):
                await self._refuse(policy, limit, key)

    async def _refuse(self, policy: RateLimitPolicy, limit: RateLimitItem, key: str) -> NoReturn:
        reset_at, _ = await self.strategy.get_window_stats(limit, policy.name, key)
        record_rate_limited(limit=policy.name)
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise RateLimited(
            f"too many requests: the {policy.name} limit is {limit}; retry after {retry_after} s",
            retry_after=retry_after,
        )


def client_address(peer: str | None, forwarded_for: str | None, *, trust_forwarded_for: bool) -> str:
    """The client's address: the peer, or the last X-Forwarded-For entry (the one our proxy added) if trusted."""
    if trust_forwarded_for and forwarded_for:
        candidate = forwarded_for.rsplit(",", 1)[-1].strip()
        try:
            return str(ip_address(candidate))
        except ValueError:
            pass
    return peer or "unknown"


def key_digest(api_key: str) -> str:
    """A short stable digest of an API key, so keys never sit in the limiter's storage."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:32]
