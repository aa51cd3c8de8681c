"""HTTPS enforcement (FORCE_HTTPS): plain-HTTP requests are redirected, HTTPS answers carry HSTS, cookies are Secure.

Whether a request is HTTPS is read from the scope's scheme, which the server sets for its own TLS and
ProxyHeadersMiddleware (app/core/proxy.py) sets from a trusted proxy's X-Forwarded-Proto: `is_https`
(app/core/cookies.py, beside the cookies whose names and `Secure` it decides) is the one question asked.
"""

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.cookies import is_https
from app.core.middleware import HttpMiddleware, uncached_headers

# Probes and scrapers speak plain HTTP inside the cluster or host and follow no redirects.
EXEMPT_PATHS = frozenset({"/livez", "/readyz", "/metrics"})
# 308 for every method: a permanent redirect that keeps the method and body (301 and 302 let clients turn a POST
# into a GET), so an API client on the wrong URL keeps working while it is fixed.
REDIRECT_STATUS = 308


def hsts_value(*, max_age: int, include_subdomains: bool) -> bytes:
    """The Strict-Transport-Security header value."""
    return f"max-age={max_age}{'; includeSubDomains' if include_subdomains else ''}".encode()


def _host(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"host":
            return value.decode("latin-1")
    server = scope.get("server")
    return server[0] if server else "localhost"


def https_location(scope: Scope, public_url: str | None) -> bytes:
    """Where a plain-HTTP request is sent: PUBLIC_URL's https origin, else the Host on the default HTTPS port."""
    if public_url and public_url.startswith("https://"):
        origin = "https://" + urlsplit(public_url).netloc
    else:
        # Host is the client's own claim: a redirect built on it only ever sends that client elsewhere.
        host = urlsplit("//" + _host(scope)).hostname or "localhost"
        origin = f"https://[{host}]" if ":" in host else f"https://{host}"
    path = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string") or b""
    return origin.encode("latin-1") + path + (b"?" + query if query else b"")


def _secure_cookie(value: bytes) -> bytes:
    attributes = {part.strip().lower() for part in value.split(b";")[1:]}
    return value if b"secure" in attributes else value + b"; Secure"


class ForceHttpsMiddleware(HttpMiddleware):
    """Redirect plain HTTP to HTTPS (never the probes or /metrics); on HTTPS, add HSTS and make every cookie Secure.

    Added by create_app only with FORCE_HTTPS=true, so the predict path pays nothing otherwise.
    """

    def __init__(self, app: ASGIApp, *, hsts: bytes, public_url: str | None) -> None:
        super().__init__(app)
        self.hsts = (b"strict-transport-security", hsts)
        self.public_url = public_url

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a plain-HTTP request with a redirect, or pass an HTTPS one on with its headers secured."""
        if not is_https(scope):
            path = scope["path"].removeprefix(scope.get("root_path", "")) or "/"
            if path in EXEMPT_PATHS:
                await self.app(scope, receive, send)
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": REDIRECT_STATUS,
                    # Answered before the headers layer: the same security headers as any answer, and no-store.
                    "headers": [
                        (b"location", https_location(scope, self.public_url)),
                        (b"content-length", b"0"),
                        *uncached_headers(scope["path"]),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *((name, _secure_cookie(value) if name.lower() == b"set-cookie" else value)
                      for name, value in message.get("headers", [])),
                    self.hsts,
                ]  # fmt: skip
            await send(message)

        await self.app(scope, receive, send_secured)
