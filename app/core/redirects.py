"""Trailing-slash redirects whose Location is the path and query alone.

Starlette's own (`redirect_slashes`) builds an absolute URL from the request's Host header, so a forged Host could
steer a client (or a cache keyed without Host) to another site; a path-only Location cannot leave this one.
"""

from urllib.parse import quote

from starlette.responses import RedirectResponse
from starlette.routing import Match, Router, get_route_path
from starlette.types import Receive, Scope, Send

# Characters a path keeps as they are; anything else (a space, a decoded %) is percent-encoded again.
_PATH_SAFE = "/:@!$&'()*+,;=~"


def _slash_redirect(router: Router, scope: Scope) -> str | None:
    """The path (and query) with its trailing slash added or removed when a route answers that, else None."""
    route_path = get_route_path(scope)
    if scope["type"] != "http" or route_path == "/":
        return None
    other = dict(scope)
    other["path"] = scope["path"].rstrip("/") if route_path.endswith("/") else scope["path"] + "/"
    if not any(route.matches(other)[0] is not Match.NONE for route in router.routes):
        return None
    path = quote(other["path"], safe=_PATH_SAFE)
    if path.startswith("//"):  # read as a host name ("//evil.example/...") by a client: keep it a path
        path = "/%2F" + path[2:]
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path


def relative_slash_redirects(router: Router) -> None:
    """Answer a path that only a trailing slash keeps from a route as Starlette does (a 307), with a path-only
    Location; anything else goes on to the router's not-found as before.

    FastAPI's router tries its low-priority (frontend) routes between its own slash redirect and `default`; this app
    declares none, so answering here keeps the order.
    """
    not_found = router.default
    router.redirect_slashes = False

    async def default(scope: Scope, receive: Receive, send: Send) -> None:
        location = _slash_redirect(router, scope)
        if location is None:
            await not_found(scope, receive, send)
            return
        await RedirectResponse(location)(scope, receive, send)

    router.default = default
