"""The Jinja2 environment shared by pages and HTML error pages."""

from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from app import __version__
from app.core import cookies
from app.core.config import PROJECT_ROOT
from app.core.credentials import csrf_token_of
from app.utils.numbers import fixed
from app.utils.static import hashed_query
from app.utils.text import noun

STATIC_DIR = PROJECT_ROOT / "app" / "static"

templates = Jinja2Templates(directory=PROJECT_ROOT / "app" / "templates")
templates.env.globals["app_version"] = __version__


@pass_context
def url_for(context: Any, name: str, /, **path_params: Any) -> str:
    """A route's URL as a path (with the app's root path): never built from the request's Host header, which a
    client chooses, so a page cannot be made to point at another site."""
    return context["request"].url_for(name, **path_params).path


@pass_context
def static_url(context: Any, path: str) -> str:
    """The URL of a static file, versioned by its content hash so it can be cached for a year."""
    return url_for(context, "static", path=path) + hashed_query(STATIC_DIR, path)


templates.env.globals["url_for"] = url_for
templates.env.globals["static_url"] = static_url


def signed_in(request: Request) -> dict[str, Any]:
    """The header's context, on pages and error pages alike: who is signed in (None: nobody, or not with a page
    session), from the principal the page's dependencies resolved, and the session's CSRF token for its sign-out."""
    principal = getattr(request.state, "principal", None)
    token = cookies.read_cookie(request, cookies.SESSION)
    if principal is None or principal.via != "session" or not token:
        return {"signed_in": None, "csrf_token": None}
    return {"signed_in": principal, "csrf_token": csrf_token_of(token)}


def readable_time(value: Any) -> str:
    """An ISO timestamp as people read it ("2026-11-28 04:10 UTC"); anything else as it is."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


templates.env.filters["readable_time"] = readable_time


def customers_from_lines(customers: int, lines: int) -> str:
    """An RFM file's customers with the transaction lines they were built from: "7 (from 11 transaction lines)"."""
    return f"{customers:,} (from {lines:,} transaction lines)"


templates.env.filters["customers_from_lines"] = customers_from_lines


def p_value(value: float) -> str:
    """A p-value as statisticians write it: three decimals, and "< 0.001" rather than a misleading 0.000."""
    return "< 0.001" if value < 0.001 else f"= {value:.3f}"


templates.env.filters["p_value"] = p_value
templates.env.filters["fixed"] = fixed
templates.env.filters["noun"] = noun
