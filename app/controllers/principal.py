"""Who sent a request: an ADMIN_API_KEYS or personal key (X-API-Key), a bearer token, or a page session cookie.

Resolved once per request and kept on request.state; the role rules themselves live in app/core/roles.py.
"""

import hmac
from collections.abc import Callable
from typing import TypeVar

from fastapi import Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from app.core import cookies
from app.core.account_errors import SignInRequired
from app.core.config import Settings
from app.core.credentials import PERSONAL_KEY_PREFIX, VERSION_CLAIM, csrf_token_of, read_token
from app.core.errors import AccessDenied, DatabaseUnavailable, RepeatedCredential
from app.core.handlers import HTML_ERRORS
from app.core.roles import SCOPES, Principal, Role, role_of_scopes, wrong_key
from app.core.security import check_admin_key, is_admin_key
from app.db.errors import db_error_reason
from app.services.accounts.keys import key_principal
from app.services.accounts.login import token_principal
from app.services.accounts.sessions import session_principal
from app.utils.numbers import whole_number

T = TypeVar("T")

CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_UNRESOLVED = object()

# Swagger's Authorize button: the password flow of /api/v1/auth/token, with the scopes of app/core/roles.py.
oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    scopes=SCOPES,
    auto_error=False,
    scheme_name="OAuth2",
    description="A user's email and password for a short-lived token (needs JWT_SECRET on the server).",
)


def with_db(request: Request, work: Callable[..., T], **kwargs: object) -> T:
    """`work(session=..., **kwargs)` in a database session of its own; DatabaseUnavailable when it is down."""
    try:
        with request.app.state.db_sessions() as session:
            return work(session=session, **kwargs)
    except SQLAlchemyError as exc:
        said = "accounts cannot be checked right now: the database is not answering"
        raise DatabaseUnavailable(said, local_message=f"{said} ({db_error_reason(exc)})") from None


def session_token(request: Request) -> str | None:
    """The page session token the request's cookie holds, if any (over HTTPS, only its `__Host-` cookie)."""
    return cookies.read_cookie(request, cookies.SESSION)


def csrf_token(request: Request) -> str | None:
    """The CSRF token of the request's session (what its pages put in forms and in fetch headers)."""
    token = session_token(request)
    return csrf_token_of(token) if token else None


def _csrf_sent(request: Request, token: str) -> bool:
    sent = request.headers.get(CSRF_HEADER) or ""
    return hmac.compare_digest(sent.encode(), csrf_token_of(token).encode())


async def _key_principal(request: Request, key: str, needed: Role = Role.admin, open_to_all: bool = False) -> Principal:
    """Who an API key speaks for: an ADMIN_API_KEYS key or a personal key; 401 revoked or unknown, 403 none of ours
    (saying what a route that needs `needed`, a lower role than admin, takes)."""
    settings: Settings = request.app.state.settings
    if key.startswith(PERSONAL_KEY_PREFIX) and not is_admin_key(settings, key):
        principal = await run_in_threadpool(with_db, request, key_principal, secret=key)
        if principal is None:
            raise SignInRequired("the X-API-Key is revoked or unknown")
        return principal
    if needed < Role.admin and not is_admin_key(settings, key):
        raise wrong_key(needed, open_to_all=open_to_all, admin_keys=bool(settings.admin_api_keys))
    # Its id for an admin key; for a key that is none of ours, the 401/403 it got before accounts.
    return Principal(name=check_admin_key(settings, key), role=Role.admin, via="service")


async def _resolve(request: Request, key: str | None, needed: Role, open_to_all: bool) -> Principal | None:
    settings: Settings = request.app.state.settings
    if key:
        return await _key_principal(request, key, needed, open_to_all)
    authorization = request.headers.get("authorization") or ""
    scheme, _, bearer = authorization.partition(" ")
    if scheme.lower() == "bearer" and bearer.strip():
        claims = read_token(settings, bearer.strip())
        role = role_of_scopes(str(claims.get("scope", "")).split())
        subject = str(claims["sub"])
        version = claims[VERSION_CLAIM]
        principal = None
        user_id = whole_number(subject)
        if role is not None and user_id is not None and type(version) is int:
            principal = await run_in_threadpool(
                with_db, request, token_principal, user_id=user_id, scoped_role=role, version=version
            )
        if principal is None:
            raise SignInRequired(
                "the bearer token's user is disabled or gone, or was disabled, changed role or password since it "
                "was issued: get a new one from /api/v1/auth/token"
            )
        return principal
    token = session_token(request)
    if token is None:
        return None
    principal = await run_in_threadpool(with_db, request, session_principal, token=token)
    # A page's own forms carry their own token (checked by the page); anything else a session sends that changes
    # state must carry the session's CSRF token in a header, which another site cannot know.
    if (
        principal is not None
        and request.method not in SAFE_METHODS
        and not getattr(request.state, HTML_ERRORS, False)
        and not _csrf_sent(request, token)
    ):
        raise AccessDenied(f"a signed-in request that changes something needs the page's {CSRF_HEADER} header")
    return principal


CREDENTIAL_HEADERS = ("X-API-Key", "Authorization")


def refuse_repeated_credentials(request: Request) -> None:
    """A 400 for a request sending X-API-Key or Authorization twice with different values: it would otherwise be
    served as whichever of two identities came first. The same value twice (a client and a proxy both adding the
    key) is one identity, and passes."""
    for name in CREDENTIAL_HEADERS:
        if len(set(request.headers.getlist(name))) > 1:
            raise RepeatedCredential(f"the request sends the {name} header more than once, with different values")


async def current_principal(
    request: Request, key: str | None = None, needed: Role = Role.admin, *, open_to_all: bool = False
) -> Principal | None:
    """Who sent the request (None: anonymous), resolved once; SignInRequired for a revoked key or a bad token, and
    for a key that is none of ours a 403 saying what a route needing `needed` takes (`open_to_all`: or no key)."""
    cached = getattr(request.state, "principal", _UNRESOLVED)
    if cached is not _UNRESOLVED:
        return cached  # type: ignore[return-value]
    refuse_repeated_credentials(request)
    principal = await _resolve(
        request, key if key is not None else request.headers.get("x-api-key"), needed, open_to_all
    )
    request.state.principal = principal
    return principal


async def principal_of_key(request: Request, key: str) -> Principal:
    """Who an API key typed into a page's form speaks for, by the rules of X-API-Key (never cached as the request's).

    A page's own dependencies have resolved the request (its cookie) before the form is read, so the form's key is
    resolved here on its own: an ADMIN_API_KEYS key or a personal key alike. 401 for none or a revoked one, 403 for
    a key that is none of ours.
    """
    if not key:
        raise SignInRequired("type an admin's API key (from ADMIN_API_KEYS, or an admin's personal key)")
    return await _key_principal(request, key)


async def page_principal(request: Request, needed: Role = Role.admin, open_to_all: bool = False) -> Principal | None:
    """The signed-in user a page shows in its header: None for anyone else, never an error but the 403 of a key that
    is none of ours, which says what a page needing `needed` takes."""
    try:
        return await current_principal(request, needed=needed, open_to_all=open_to_all)
    except (SignInRequired, AccessDenied):
        return None
