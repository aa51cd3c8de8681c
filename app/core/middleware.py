"""ASGI middleware: the error shape, and one layer for each request's id and report (metrics and access log), the
security and caching headers, and the choice of compression."""

import logging
import random
import re
import time

from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import metrics
from app.core.handlers import error_response, is_storage_error, storage_error_response, unexpected_error_response
from app.core.logging import access_logger, log_access

error_logger = logging.getLogger("app.errors")

REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def header_bytes(scope: Scope, name: bytes) -> bytes | None:
    """A request header's raw value from the ASGI scope (the first, when sent twice), or None."""
    for key, value in scope.get("headers", []):
        if key == name:
            return value
    return None


def header(scope: Scope, name: bytes) -> str | None:
    """A request header's value as text (latin-1, as HTTP carries it), or None."""
    value = header_bytes(scope, name)
    return None if value is None else value.decode("latin-1")


# Pages load nothing but their own scripts, styles and images. Inline <svg> attributes are not styles.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI and ReDoc start from our own script files, so scripts are 'self' only. ReDoc's styled-components
# insert <style> elements, so /redoc alone allows inline styles; Swagger UI needs none.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src {style_src}; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'"
)
SWAGGER_CSP = DOCS_CSP.format(style_src="'self'")
REDOC_CSP = DOCS_CSP.format(style_src="'self' 'unsafe-inline'")
# Powerful browser features the app never uses, denied to its pages and anything they might embed. Only features
# every current browser recognises: Chromium reports an unknown one as a console error.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"
)
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", PERMISSIONS_POLICY.encode()),
]
# Answers that say nothing about their caching are kept by no cache, shared or private: labelled files, job
# states, admin answers and /metrics among them. Static files (and the ReDoc bundle) set their own.
_NO_STORE = (b"cache-control", b"no-store")
_PAGE_HEADERS = [(b"content-security-policy", PAGE_CSP.encode()), *_SECURITY_HEADERS]
_HEADERS_BY_PATH = {
    path: [(b"content-security-policy", csp.encode()), *_SECURITY_HEADERS]
    for path, csp in (("/docs", SWAGGER_CSP), ("/redoc", REDOC_CSP))
}


class HttpMiddleware:
    """Base of the project's middleware: lifespan and other non-HTTP traffic passes straight through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one HTTP request."""
        raise NotImplementedError


class ErrorShapeMiddleware(HttpMiddleware):
    """Every error leaves in the one error shape: a crash below becomes a logged 500 (never a stack trace), and the
    framework's plain-text 413 (route-level `max_body_size`) becomes the project's JSON.

    One layer for both: each layer that wraps `send` costs about 2.5% of a prediction in a live server.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one HTTP request."""
        response_started = False
        replaced = False

        async def send_shaped(message: Message) -> None:
            nonlocal response_started, replaced
            if replaced:
                return  # the framework's plain-text body: already answered
            if message["type"] == "http.response.start":
                response_started = True
                if message["status"] == 413 and _is_plain_text(message):
                    replaced = True
                    await _body_too_large(scope)(scope, receive, send)
                    return
            await send(message)

        try:
            await self.app(scope, receive, send_shaped)
        except Exception as exc:
            request_id = scope.get("state", {}).get("request_id") or "-"
            if is_storage_error(exc):
                # The operator's problem, said in one line with the path; the client gets a 503 without it.
                error_logger.error("storage refused a write: %s", exc, extra={"request_id": request_id})
                answer = storage_error_response(scope)
            else:
                error_logger.exception(
                    "unhandled error",
                    extra={"request_id": request_id, "method": scope["method"], "path": scope["path"]},
                )
                answer = unexpected_error_response(scope, request_id)
            if not response_started:
                await answer(scope, receive, send)


def _body_too_large(scope: Scope) -> ASGIApp:
    limit = scope.get(MAX_BODY_SIZE_SCOPE_KEY)
    size = f"the {limit} byte limit" if isinstance(limit, int) else "the limit"
    return error_response(
        scope,
        status_code=413,
        error_type="body_too_large",
        message=f"request body is larger than {size}; send less data per request",
    )


def _is_plain_text(message: Message) -> bool:
    # Only the framework's own 413 is plain text; the app's JSON errors and pages (the upload form) stay as they are.
    return any(key == b"content-type" and value.startswith(b"text/plain") for key, value in message["headers"])


def _route_label(scope: Scope, root_path: str) -> str:
    """The matched route's full template, never the raw path (which would explode the label set).

    A route inside an included router knows only its own part ("/clusters/{segment_id}"); the prefix is the
    part of the path before the suffix that the route's pattern matches ("/api/v1"). A mounted app (static
    files) shows as the mount's path, which the mount adds to root_path.
    """
    route = scope.get("route")
    template = getattr(route, "path", None)
    pattern = getattr(route, "path_regex", None)
    if not isinstance(template, str) or pattern is None:
        mounted = scope.get("root_path", "")[len(root_path) :]
        return mounted or "unmatched"
    path = scope.get("path", "")
    if isinstance(route, Mount) or pattern.match(path):
        return template or "/"
    start = path.find("/", 1)
    while start != -1:
        if pattern.match(path[start:]):
            return path[:start] + template
        start = path.find("/", start + 1)
    return template


_VARY_ACCEPT_ENCODING = [(b"vary", b"Accept-Encoding")]
# What the headers add, by whether the answer sets its own caching: built once, not per request.
_ADDED = {
    None: ([*_PAGE_HEADERS, _NO_STORE], _PAGE_HEADERS),
    **{path: ([*headers, _NO_STORE], headers) for path, headers in _HEADERS_BY_PATH.items()},
}


def uncached_headers(path: str) -> list[tuple[bytes, bytes]]:
    """What ServiceMiddleware adds to an answer at `path` that sets no caching: its Content-Security-Policy, the
    security headers and no-store. For answers given before it is reached (the HTTPS redirect)."""
    return list(_ADDED.get(path, _ADDED[None])[0])


class ServiceMiddleware(HttpMiddleware):
    """Each request's id, report, security headers and compression, in one layer (each option can be off).

    - `report`: give the request an id (a valid X-Request-ID, or a new one), echo it on the response, and report the
      request once, as its last body byte is about to leave (or when the app fails without answering, as a 500): to
      the metrics (method, route template, status, duration) and, when INFO is on, to the access log, with the id
      and the client's address.
    - `headers`: add the security headers to every response, and `Cache-Control: no-store` where it sets no caching
      itself; a response with a Content-Security-Policy of its own keeps it.
    - `gzip_min_bytes`: Starlette's GZip (level 1) for clients that accept gzip; everyone else's responses pass
      through untouched but for `Vary: Accept-Encoding` (Starlette's middleware would wrap them all to decide that).

    One layer rather than three: each layer that wraps `send` costs a few µs of every request (the README's
    Performance section has the accounting). create_app splits it in two only when HTTPS redirects or CORS must sit
    between the report and the headers.
    """

    def __init__(self, app: ASGIApp, *, report: bool = True, headers: bool = True, gzip_min_bytes: int = 0) -> None:
        super().__init__(app)
        self.report = report
        self.headers = headers
        # Level 1: a 6.7 MB batch answer shrinks 6x in ~35 ms; level 9 (Starlette's default) takes 6x longer for 20%
        # less. Bodies over 128 KiB are compressed on a worker thread, off the event loop.
        self.gzip = GZipMiddleware(app, minimum_size=gzip_min_bytes, compresslevel=1) if gzip_min_bytes else None

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Name one request, pass it on, add the headers to its answer and report it as its last byte leaves."""
        app, vary = self.app, []
        if self.gzip is not None:
            if b"gzip" in (header_bytes(scope, b"accept-encoding") or b""):
                app = self.gzip
            else:
                vary = _VARY_ACCEPT_ENCODING
        added = _ADDED.get(scope["path"], _ADDED[None]) if self.headers else None
        if not self.report:
            await app(scope, receive, _with_headers(send, vary, added, []))
            return
        incoming = header(scope, REQUEST_ID_HEADER)
        # 128 random bits, as uuid4 has (less its version bits), at a fraction of uuid's cost per request. Not
        # os.urandom: it releases the GIL, and the event loop then waits on whichever thread takes it. An id is no
        # secret (a client may send its own).
        request_id = incoming if incoming and _VALID_REQUEST_ID.match(incoming) else f"{random.getrandbits(128):032x}"
        scope.setdefault("state", {})["request_id"] = request_id
        root_path = scope.get("root_path", "")
        own = [(REQUEST_ID_HEADER, request_id.encode())]
        started = time.perf_counter()
        status = 500
        reported = False

        def report() -> None:
            nonlocal reported
            reported = True
            seconds = time.perf_counter() - started
            # The route is known only once routing has run, so its label is taken here, at the end.
            metrics.record_request(scope["method"], _route_label(scope, root_path), status, seconds)
            if access_logger.isEnabledFor(logging.INFO):
                # The address only: the port is the peer's ephemeral one, or 0 for a client named by a trusted
                # proxy's X-Forwarded-For (app/core/proxy.py, outermost, has rewritten the scope by now).
                client = scope.get("client")
                log_access(
                    {
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                        "client": client[0] if client else "-",
                    }
                )

        async def send_reported(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = _headers_after(message.get("headers", []), vary, added, own)
            elif message["type"] == "http.response.body" and not message.get("more_body", False) and not reported:
                # Before the last byte leaves, so a client that holds its answer finds it reported.
                report()
            await send(message)

        try:
            await app(scope, receive, send_reported)
        finally:
            if not reported:
                report()


def _headers_after(
    sent: list[tuple[bytes, bytes]],
    vary: list[tuple[bytes, bytes]],
    added: tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]] | None,
    own: list[tuple[bytes, bytes]],
) -> list[tuple[bytes, bytes]]:
    """A response's headers with Vary, the security headers (no-store where it sets no caching) and `own` added."""
    if added is None:
        return [*sent, *vary, *own]
    cached = policy = False
    for key, _ in sent:
        key = key.lower()
        cached = cached or key == b"cache-control"
        policy = policy or key == b"content-security-policy"
    headers = added[1] if cached else added[0]
    if policy:
        # A response with a policy of its own (a self-contained HTML report allows its inline style by hash) keeps
        # it: a second policy would be enforced too, and refuse what the first allows.
        headers = [header for header in headers if header[0] != b"content-security-policy"]
    return [*sent, *vary, *headers, *own]


def _with_headers(
    send: Send,
    vary: list[tuple[bytes, bytes]],
    added: tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]] | None,
    own: list[tuple[bytes, bytes]],
) -> Send:
    """A send that adds the headers to the response's start message."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = _headers_after(message.get("headers", []), vary, added, own)
        await send(message)

    return send_with_headers


class RequestReportMiddleware(ServiceMiddleware):
    """ServiceMiddleware for each request's id and report only: the outer half when layers sit in between."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app, report=True, headers=False)


class SecurityHeadersMiddleware(ServiceMiddleware):
    """ServiceMiddleware for the security and caching headers only."""

    def __init__(self, app: ASGIApp, *, gzip_min_bytes: int = 0) -> None:
        super().__init__(app, report=False, headers=True, gzip_min_bytes=gzip_min_bytes)
