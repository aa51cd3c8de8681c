"""The CSRF token of the forms without a session (/score, /login, a new segmentation): a random value in a cookie
and the same value in a hidden field (double submit).

Another site can make a browser post to /score, but cannot read the cookie or the page, so it cannot put the
cookie's value in the form. Nothing server-side is kept, so every worker and host checks the same way. Over HTTPS
the cookies are `__Host-` ones (app/core/cookies.py), so a sibling host cannot plant a token of its choosing either.
"""

import hmac
import re
import secrets

from app.core.errors import AccessDenied

FIELD = "form_token"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
EXPIRED = "this form has expired, or was not sent from this page: reload the page, choose the file and send it again"


def valid_token(value: str | None) -> str | None:
    """The value when it has the shape of a token this module makes, else None."""
    return value if value is not None and _TOKEN.match(value) else None


def form_token(cookie: str | None) -> str:
    """The token for the form: the browser's current one (so every open tab stays valid), or a new one."""
    return valid_token(cookie) or secrets.token_urlsafe(32)


def require_cookie(cookie: str | None) -> str:
    """The cookie's token; AccessDenied without one (checked before the upload is read)."""
    token = valid_token(cookie)
    if token is None:
        raise AccessDenied(EXPIRED)
    return token


def check_form_token(cookie: str | None, sent: str | None) -> None:
    """AccessDenied unless the form sent back the token its cookie holds."""
    token = require_cookie(cookie)
    if sent is None or not hmac.compare_digest(token.encode(), sent.encode()):
        raise AccessDenied(EXPIRED)
