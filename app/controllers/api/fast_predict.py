"""POST /api/v1/predict's common case answered in one ASGI layer; every other request goes on to the app as before.

A single prediction is ~75 µs of the service's own work, and FastAPI's request machinery around it (routing,
dependency solving, body reading and validation) cost about as much again: the plain `async def` endpoint a user
would write answered twice as many requests a second. This layer answers the case almost every call is (a JSON
customer, no query, the default segmentation with no challenger, PUBLIC_READS on) with the same calls the route
makes, and hands anything else to the route untouched: the body it read is replayed, so the route gives its usual
answer, error or not. The route stays the contract (/docs, tests, dependency overrides); this is only a shortcut to
the same bytes, checked against the route in tests/api/test_fast_predict.py.
"""

import re
from collections import deque
from types import SimpleNamespace

from pydantic import ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import RateLimited, SegmentationError
from app.core.handlers import domain_error_response
from app.core.json_route import is_json_media_type
from app.core.middleware import HttpMiddleware
from app.schemas.prediction import CustomerValidator
from app.services.prediction import predict_customer
from app.utils.responses import FastJSONResponse

PATH = "/api/v1/predict"
# What the request report labels the route with (app/core/middleware._route_label reads `path` and `path_regex`).
_ROUTE = SimpleNamespace(path=PATH, path_regex=re.compile(re.escape(PATH) + "$"))


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A receive that gives the messages already read again, then the connection's own."""
    pending = deque(messages)

    async def replayed() -> Message:
        return pending.popleft() if pending else await receive()

    return replayed


class FastPredict(HttpMiddleware):
    """Answers POST /api/v1/predict itself when it can say exactly what the route would; passes everything else on.

    Nothing happens before that is known (no count, no log): the body is validated, the model found and the
    customer scored first, all without side effects; only then is the request counted against the client's limit
    (a 429 leaves through the app's one error mapping), recorded and answered, in the route's order.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        super().__init__(app)
        self.max_body_bytes = max_body_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the common case of a single prediction, or pass the request on."""
        if scope["path"] != PATH or scope["method"] != "POST" or scope["query_string"] or not self._plain(scope):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        chunks = []
        while True:  # the body is at most max_body_bytes: its Content-Length said so, and the server holds it to that
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                if await self._answer(scope, b"".join(chunks), receive, send):
                    return
                break
        await self.app(scope, _replaying(messages, receive), send)

    def _plain(self, scope: Scope) -> bool:
        """Whether the request's headers and the app allow the shortcut: JSON within the size limit, and nothing the
        route decides differently (PUBLIC_READS off needs a role check; dependency overrides mean the route)."""
        length = _header(scope, b"content-length")
        if length is None or not length.isdigit() or int(length) > self.max_body_bytes:
            return False
        content_type = _header(scope, b"content-type")
        if content_type is None or not is_json_media_type(content_type.decode("latin-1")):
            return False
        app = scope["app"]
        return app.state.settings.public_reads and not app.dependency_overrides

    async def _answer(self, scope: Scope, body: bytes, receive: Receive, send: Send) -> bool:
        """Answer with the body read; False (nothing done) when the route must decide."""
        try:
            customer = CustomerValidator.validate_json(body)
        except ValidationError:
            return False  # the route's strict parser and validation give their own answer
        if body.count(b":") != len(customer):
            return False  # a key given twice (the parser keeps the last), or a colon in a text value
        state = scope["app"].state
        registry = state.registry
        if registry.challenger is not None:
            return False
        try:
            answer = predict_customer(registry.get(), customer)
        except SegmentationError:
            return False  # no model yet, or one that needs other features: the route says so
        scope["route"] = _ROUTE
        limiter = state.rate_limiter
        client = scope.get("client")
        try:
            await limiter.hit(limiter.predict, client[0] if client else "unknown")
        except RateLimited as exc:
            refused = await domain_error_response(Request(scope), exc)
            await refused(scope, receive, send)
            return True
        response = FastJSONResponse(answer.body)
        answer.record(log=getattr(state, "prediction_log", None), request_id=scope.get("state", {}).get("request_id"))
        await response(scope, receive, send)
        return True
