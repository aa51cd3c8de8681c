"""Sign-in with an email and a password, and changing one's own password, limited per account and per client address
(RATE_LIMIT_LOGIN)."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from app.controllers.audit import audit_async
from app.controllers.credential_limits import client_ip
from app.controllers.principal import session_token, with_db
from app.core.account_errors import LoginFailed, WrongPassword
from app.core.errors import DatabaseUnavailable, RateLimited
from app.core.rate_limit import RateLimiter, key_digest
from app.core.roles import Principal
from app.db.tables import User
from app.services.accounts import passwords
from app.services.accounts.login import UNKNOWN_ACCOUNT, account_named, authenticate
from app.services.accounts.users import UserView, record_login

T = TypeVar("T")


def _buckets(request: Request, email: str) -> tuple[str, str]:
    # Keyed on digests: an email typed into the form never sits in the limiter's storage.
    return f"login:account:{key_digest(email.strip().lower())}", f"login:ip:{client_ip(request)}"


async def _audit_failure(request: Request, email: str, *, throttled: bool = False) -> None:
    """A `login.failed` row naming the account typed, or "unknown account": the typed text may be a password."""
    try:
        who = await run_in_threadpool(with_db, request, account_named, email=email)
    except DatabaseUnavailable:
        who = UNKNOWN_ACCOUNT  # the row is written only if the database comes back; it must not fail the answer
    detail = {"path": request.url.path} | ({"throttled": True} if throttled else {})
    await audit_async(request, who=who, action="login.failed", target=who, detail=detail)


async def throttled_login(request: Request, *, email: str, password: str, start: Callable[[User], Awaitable[T]]) -> T:
    """What `start` makes for the user these credentials belong to (a session, a token); LoginFailed, or 429.

    Failures count against the account and against the client address, so neither guessing one account's password
    from many addresses nor many accounts from one address gets far. A spent allowance is refused before the
    password is checked, so a right guess then gets the same 429 as the wrong ones (and is recorded as failed, like
    them). The sign-in is recorded (the
    audit row and the user's last login) only once `start` succeeded: a session or token that failed to exist
    signed nobody in.
    """
    limiter: RateLimiter = request.app.state.rate_limiter
    buckets = _buckets(request, email)
    try:
        for bucket in buckets:
            await limiter.check(limiter.login, bucket)
    except RateLimited:
        await _audit_failure(request, email, throttled=True)  # a guesser past the limit is still seen
        raise
    try:
        user = await run_in_threadpool(with_db, request, authenticate, email=email, password=password)
    except LoginFailed:
        for bucket in buckets:
            await limiter.hit(limiter.login, bucket)
        await _audit_failure(request, email)
        raise
    started = await start(user)
    await run_in_threadpool(with_db, request, record_login, user_id=user.id)
    await audit_async(
        request, who=user.email, action="login.succeeded", target=user.email, detail={"path": request.url.path}
    )
    return started


async def throttled_password_change(request: Request, *, principal: Principal, current: str, new: str) -> UserView:
    """The caller's own password changed once `current` is right, audited; a wrong one counts as a failed sign-in.

    Without the count, a session or token left behind would let anyone guess the account's password without limit.
    The page session the request came with (if it came with one) stays signed in; the user's other sessions end.
    """
    limiter: RateLimiter = request.app.state.rate_limiter
    buckets = _buckets(request, principal.name)
    for bucket in buckets:
        await limiter.check(limiter.login, bucket)
    try:
        view = await run_in_threadpool(
            with_db,
            request,
            passwords.change_own_password,
            user_id=principal.user_id,
            current=current,
            new=new,
            keep_session=session_token(request) if principal.via == "session" else None,
        )
    except WrongPassword:
        for bucket in buckets:
            await limiter.hit(limiter.login, bucket)
        raise
    await audit_async(request, who=principal.name, action="user.password_change", target=view.email)
    return view
