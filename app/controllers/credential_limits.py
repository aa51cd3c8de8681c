"""The allowance of failed credentials per client address: what a guesser spends, and what stays open past it."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import Request

from app.core.account_errors import SignInRequired
from app.core.errors import AccessDenied, AdminKeyMissing, AdminKeyRefused
from app.core.rate_limit import RateLimiter

T = TypeVar("T")


def client_ip(request: Request) -> str:
    """The client's address: the peer, or what a trusted proxy forwarded (ProxyHeadersMiddleware has decided)."""
    return request.client.host if request.client else "unknown"


async def _count_failed(request: Request) -> None:
    """Count a failed credential against the client's allowance (RATE_LIMIT_ADMIN per client address): a 429 past it."""
    limiter: RateLimiter = request.app.state.rate_limiter
    await limiter.hit(limiter.admin, f"ip:{client_ip(request)}")


async def refuse_when_spent(request: Request) -> None:
    """429 when the client's allowance of failed credentials is spent, without counting this request.

    For the keys an operator chose (ADMIN_API_KEYS, OUTCOME_API_KEYS), which a guesser could hit: once a client has
    spent its allowance, a right one is refused too, so guessing them stays limited. Keys and tokens the server
    issued are random beyond guessing, and pass, so a NAT's other users keep working.
    """
    limiter: RateLimiter = request.app.state.rate_limiter
    await limiter.check(limiter.admin, f"ip:{client_ip(request)}")


async def limit_failed_keys(request: Request, check: Callable[[], T]) -> T:
    """Run a check of an operator's key; a key it refuses counts against the client's allowance of failed keys, and
    past the allowance any key, right or wrong, is answered 429 (refuse_when_spent).

    Keyed on the client, not on the key offered, so every guess counts against one allowance.
    """
    try:
        checked = check()
    except (AdminKeyMissing, AdminKeyRefused, AccessDenied):
        await _count_failed(request)
        raise
    await refuse_when_spent(request)
    return checked


async def limit_failed_credentials(request: Request, check: Callable[[], Awaitable[T]]) -> T:
    """limit_failed_keys for a check that awaits and resolves a credential (a session, a token, a key).

    Counts only credentials that fail to resolve (unknown, revoked, tampered, none of ours): `check` must hold no
    role check, since a valid principal whose role is too low guessed nothing. A valid ADMIN_API_KEYS key still
    meets refuse_when_spent; a user's session, token or personal key does not.
    """
    try:
        principal = await check()
    except (AdminKeyRefused, SignInRequired):
        await _count_failed(request)
        raise
    if getattr(principal, "via", None) == "service":
        await refuse_when_spent(request)
    return principal
