"""The app's cookies: their names, and the `__Host-` prefix every one of them carries over HTTPS.

Another host under the same parent domain (evil.example.com beside app.example.com) can set ("toss") a cookie that
this host then receives, so a plain-named form token or session cookie could be the other host's choice. Browsers
accept a `__Host-` cookie only from this very host, `Secure`, with `Path=/` and no `Domain`: over HTTPS every
cookie is set and read under that name only, and a plain-named one is ignored. Over plain HTTP (local development,
tests) browsers refuse the prefix without `Secure`, so the plain names are used there.
"""

from collections.abc import Mapping
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import Response

HOST_PREFIX = "__Host-"
# A page session's token (app/services/accounts/sessions.py).
SESSION = "session"
# The double-submit tokens of the forms that exist before any session (app/web/csrf.py).
SCORE_FORM = "score_form"
LOGIN_FORM = "login_form"
MODELS_FORM = "models_form"


def is_https(scope: Mapping[str, Any]) -> bool:
    """Whether this request reached the client's end over HTTPS (the scheme app/core/proxy.py settled): it decides
    the cookies' names and `Secure`, and FORCE_HTTPS's redirect (app/core/https.py)."""
    return scope.get("scheme") in ("https", "wss")


def cookie_name(request: HTTPConnection, base: str) -> str:
    """The name `base` goes by on this request: `__Host-<base>` over HTTPS, `base` over plain HTTP."""
    return HOST_PREFIX + base if is_https(request.scope) else base


def read_cookie(request: HTTPConnection, base: str) -> str | None:
    """The value of the request's cookie `base` under this scheme's name, if it has a non-empty one."""
    return request.cookies.get(cookie_name(request, base)) or None


def _attributes(request: HTTPConnection, path: str) -> dict:
    # __Host- allows no other path, and Secure is what the prefix needs; over HTTP the cookie keeps its own path.
    https = is_https(request.scope)
    return {"path": "/" if https else path, "secure": https, "httponly": True, "samesite": "lax"}


def set_cookie(
    response: Response, request: HTTPConnection, base: str, value: str, *, path: str, max_age: int | None = None
) -> None:
    """Set `base` (HttpOnly, SameSite=Lax): over HTTPS as `__Host-<base>`, Secure at Path=/; else at `path`."""
    response.set_cookie(cookie_name(request, base), value, max_age=max_age, **_attributes(request, path))


def delete_cookie(response: Response, request: HTTPConnection, base: str, *, path: str) -> None:
    """Delete `base` under this scheme's name, with the attributes it was set with (a browser ignores a `__Host-`
    deletion that is not Secure at Path=/)."""
    response.delete_cookie(cookie_name(request, base), **_attributes(request, path))
