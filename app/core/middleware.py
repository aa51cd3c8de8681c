"""ASGI middleware: request ids, security headers and access logs; the request body size limit."""

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.handlers import error_response, unexpected_error_response

access_logger = logging.getLogger("app.access")
error_logger = logging.getLogger("app.errors")

REQUEST_ID_HEADER = "x-request-id"
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
# Swagger UI and ReDoc are third-party pages that start themselves with inline script and styles.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'"
)
_DOCS_PATHS = ("/docs", "/redoc")
PAGE_CSP_BYTES = PAGE_CSP.encode()
DOCS_CSP_BYTES = DOCS_CSP.encode()
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class RequestContextMiddleware:
    """Give each request an id (from X-Request-ID or new), add security headers, log one line, catch crashes.

    One middleware rather than several: every ASGI layer costs time on each request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, REQUEST_ID_HEADER.encode())
        request_id = incoming if incoming and _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False
        extra_headers = [
            (b"x-request-id", request_id.encode()),
            (b"content-security-policy", DOCS_CSP_BYTES if scope["path"] in _DOCS_PATHS else PAGE_CSP_BYTES),
            *_SECURITY_HEADERS,
        ]

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", []), *extra_headers]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            error_logger.exception(
                "unhandled error", extra={"request_id": request_id, "method": scope["method"], "path": scope["path"]}
            )
            if not response_started:
                await unexpected_error_response(scope, request_id)(scope, receive, send_with_id)
        finally:
            access_logger.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )


class BodySizeLimitMiddleware:
    """Refuse bodies over the limit with 413 before anything parses them."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    def _too_large(self, scope: Scope) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        return error_response(
            scope,
            status_code=413,
            error_type="body_too_large",
            message=f"request body is larger than the {self.max_body_bytes} byte limit; send less data per request",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then count the bytes as they arrive."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > self.max_body_bytes:
                await self._too_large(scope)(scope, receive, send)
                return
            # The server never delivers more than the declared length, so nothing needs counting.
            await self.app(scope, receive, send)
            return
        # No declared length (a chunked body): buffer up to the limit so an over-long body is refused before
        # the app sees any of it.
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away before sending its body: let the app see that as it is.
                await self.app(scope, _replay(None, message, receive), send)
                return
            body = message.get("body", b"")
            received += len(body)
            if received > self.max_body_bytes:
                await self._too_large(scope)(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), None, receive), send)


def _replay(body: bytes | None, first: Message | None, receive: Receive) -> Receive:
    """A receive callable that hands over the buffered body first, then defers to the real one."""
    pending: Message | None = first or {"type": "http.request", "body": body or b"", "more_body": False}

    async def replay() -> Message:
        nonlocal pending
        if pending is not None:
            message, pending = pending, None
            return message
        return await receive()

    return replay
