"""ASGI middleware, one class per concern: security and caching headers, compression, the error shape, and each
request's id and report (metrics and access log)."""

import logging
import os
import re
import time
from collections.abc import Callable

from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import metrics
from app.core.handlers import error_response, unexpected_error_response
from app.core.logging import access_logger, log_access

error_logger = logging.getLogger("app.errors")

REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


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


def adding_headers(send: Send, headers: list[tuple[bytes, bytes]]) -> Send:
    """A send that appends `headers` to the response's start message."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *headers]
        await send(message)

    return send_with_headers


class SecurityHeadersMiddleware(HttpMiddleware):
    """Add the security headers to every response, and `Cache-Control: no-store` where it sets no caching itself."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one HTTP request."""
        headers = _HEADERS_BY_PATH.get(scope["path"], _PAGE_HEADERS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent = message.get("headers", [])
                cached = any(key.lower() == b"cache-control" for key, _ in sent)
                added = headers
                # A response with a policy of its own (a self-contained HTML report allows its inline style by
                # hash) keeps it: a second policy would be enforced too, and refuse what the first allows.
                if any(key.lower() == b"content-security-policy" for key, _ in sent):
                    added = [header for header in headers if header[0] != b"content-security-policy"]
                message["headers"] = [*sent, *added] if cached else [*sent, *added, _NO_STORE]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def run_reporting_end(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    report: Callable[[int, float], None],
    headers: list[tuple[bytes, bytes]],
) -> None:
    """Run `app`, adding `headers` to its response and calling `report(status, seconds)` once: as the last body byte
    is about to leave, so a client that holds its answer finds it reported, or when the app fails without answering
    (status 500)."""
    started = time.perf_counter()
    status = 500
    reported = False

    def report_once() -> None:
        nonlocal reported
        reported = True
        report(status, time.perf_counter() - started)

    async def send_with_status(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            message["headers"] = [*message.get("headers", []), *headers]
        elif message["type"] == "http.response.body" and not message.get("more_body", False) and not reported:
            report_once()
        await send(message)

    try:
        await app(scope, receive, send_with_status)
    finally:
        if not reported:
            report_once()


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
        except Exception:
            request_id = scope.get("state", {}).get("request_id") or "-"
            error_logger.exception(
                "unhandled error", extra={"request_id": request_id, "method": scope["method"], "path": scope["path"]}
            )
            if not response_started:
                await unexpected_error_response(scope, request_id)(scope, receive, send)


def _body_too_large(scope: Scope) -> ASGIApp:
    limit = scope.get(MAX_BODY_SIZE_SCOPE_KEY)
    size = f"the {limit} byte limit" if isinstance(limit, int) else "the limit"
    return error_response(
        scope,
        status_code=413,
        error_type="body_too_large",
        message=f"request body is larger than {size}; send less data per request",
    )


_VARY_ACCEPT_ENCODING = [(b"vary", b"Accept-Encoding")]


class CompressionMiddleware(GZipMiddleware):
    """Starlette's GZip for clients that accept it; everyone else's responses pass through untouched.

    Starlette wraps every response, even for a client that never asked for gzip, to decide whether to say
    `Vary: Accept-Encoding`; on a small answer that costs more than the prediction. Here such a response only gets
    the Vary header (a response from this app does vary with Accept-Encoding).
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Compress for a client that accepts gzip; add only the Vary header for others."""
        if scope["type"] == "http" and "gzip" not in (_header(scope, b"accept-encoding") or ""):
            await self.app(scope, receive, adding_headers(send, _VARY_ACCEPT_ENCODING))
            return
        await super().__call__(scope, receive, send)


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


class RequestReportMiddleware(HttpMiddleware):
    """Give each request an id (a valid X-Request-ID, or a new one), echo it on the response, and report the request
    once, as it ends: to the metrics (method, route template, status, duration) and, when INFO is on, to the access
    log (with the id).

    One layer for the three: the id exists to find a request's log lines, and each layer that wraps `send` costs
    about 2.5% of a single prediction's time in a live server (benchmarks/run.py).
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Name one request, time it and report it as its last body byte leaves (or when it fails)."""
        incoming = _header(scope, REQUEST_ID_HEADER)
        # 16 random bytes, as uuid4 has (less its version bits), at a fraction of uuid's cost per request.
        request_id = incoming if incoming and _VALID_REQUEST_ID.match(incoming) else os.urandom(16).hex()
        scope.setdefault("state", {})["request_id"] = request_id
        root_path = scope.get("root_path", "")
        access = access_logger.isEnabledFor(logging.INFO)

        def report(status: int, seconds: float) -> None:
            # The route is known only once routing has run, so its label is taken here, at the end.
            metrics.record_request(scope["method"], _route_label(scope, root_path), status, seconds)
            if access:
                log_access(
                    {
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                    }
                )

        await run_reporting_end(self.app, scope, receive, send, report, [(REQUEST_ID_HEADER, request_id.encode())])
