"""A single prediction's common case answered in one ASGI layer; every other request goes on to the app as before.

A single prediction is ~75 µs of the service's own work, and FastAPI's request machinery around it (routing,
dependency solving, body reading and validation) cost about as much again: the plain `async def` endpoint a user
would write answered twice as many requests a second. This layer answers POST /api/v1/predict and POST
/api/v1/segmentations/{segmentation}/predict when the body is JSON and there is no query string (challenger or
not), with the calls the routes make, in their order; anything it cannot say exactly as the route would goes to the
route untouched, the body it read replayed, so the route gives its usual answer, error or not. The routes stay the
contract (/docs, dependency overrides); this is a shortcut to the same bytes, checked against them in
tests/api/test_fast_predict.py.
"""

import re
from collections import deque
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.controllers.deps import registry_of
from app.core.errors import SegmentationError
from app.core.handlers import domain_error_response
from app.core.json_route import is_json_media_type
from app.core.middleware import HttpMiddleware, header, header_bytes
from app.models.model import SegmentationModel
from app.models.segmentations.spec import DEFAULT_NAME
from app.schemas.prediction import CustomerValidator
from app.schemas.segmentations import FeaturesCustomerValidator
from app.services.challenger.serving import answer_one
from app.services.prediction import Answer, predict_customer
from app.services.segmentation_predictions import predict_by_features
from app.utils.responses import FastJSONResponse

PATH = "/api/v1/predict"
SEGMENTATION_PATH = re.compile(r"/api/v1/segmentations/(?P<segmentation>[^/]+)/predict")
# What the request report labels each route with (app/core/middleware._route_label reads `path` and `path_regex`).
_ROUTE = SimpleNamespace(path=PATH, path_regex=re.compile(re.escape(PATH) + "$"))
_SEGMENTATION_ROUTE = SimpleNamespace(
    path="/api/v1/segmentations/{segmentation}/predict", path_regex=re.compile(SEGMENTATION_PATH.pattern + "$")
)


def _keys(value: Any) -> int:
    """How many keys a validated body holds, nested ones too (each JSON object's keys arrive as dict keys)."""
    if isinstance(value, dict):
        return len(value) + sum(_keys(item) for item in value.values())
    if isinstance(value, list):
        return sum(_keys(item) for item in value)
    return 0


def _predictor(customer: Any, segmentation: str | None) -> Callable[[SegmentationModel], Answer]:
    """What the route scores the customer with: by the default features, or by the segmentation's."""
    if segmentation is None:
        return lambda model: predict_customer(model, customer)
    return lambda model: predict_by_features(model, customer, segmentation=segmentation)


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A receive that gives the messages already read again, then the connection's own."""
    pending = deque(messages)

    async def replayed() -> Message:
        return pending.popleft() if pending else await receive()

    return replayed


class FastPredict(HttpMiddleware):
    """Answers a single prediction itself when it can say exactly what the route would; passes everything else on.

    Nothing happens before that is known: the body is validated and the model found first, without side effects.
    Then, as in the route, the request is counted against the client's limit, the answer computed (a challenger's
    arm picked), recorded and sent; an error from there on leaves through the app's one domain error mapping.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        super().__init__(app)
        self.max_body_bytes = max_body_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the common case of a single prediction, or pass the request on."""
        path = scope["path"]
        if scope["method"] != "POST" or scope["query_string"] or not path.endswith("/predict"):
            await self.app(scope, receive, send)
            return
        if path == PATH:
            segmentation = None
        elif found := SEGMENTATION_PATH.fullmatch(path):
            segmentation = found["segmentation"]
        else:
            segmentation = ""
        if segmentation == "" or not self._plain(scope):
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
                if await self._answer(scope, b"".join(chunks), segmentation, receive, send):
                    return
                break
        await self.app(scope, _replaying(messages, receive), send)

    def _plain(self, scope: Scope) -> bool:
        """Whether the request's headers and the app allow the shortcut: JSON within the size limit, and nothing the
        route decides differently (PUBLIC_READS off or a credential sent needs a check; dependency overrides mean the
        route)."""
        length = header_bytes(scope, b"content-length")
        if length is None or not length.isdigit() or int(length) > self.max_body_bytes:
            return False
        if not is_json_media_type(header(scope, b"content-type")):
            return False
        if header_bytes(scope, b"x-api-key") is not None or header_bytes(scope, b"authorization") is not None:
            return False  # a key or token sent is checked by the route (a revoked one is a 401, not anonymous)
        app = scope["app"]
        return app.state.settings.public_reads and not app.dependency_overrides

    async def _answer(self, scope: Scope, body: bytes, segmentation: str | None, receive: Receive, send: Send) -> bool:
        """Answer with the body read; False (nothing done) when the route must decide."""
        try:
            customer = (CustomerValidator if segmentation is None else FeaturesCustomerValidator).validate_json(body)
        except ValidationError:
            return False  # the route's strict parser and validation give their own answer
        if body.count(b":") != _keys(customer):
            return False  # a key given twice (the parser keeps the last), or a colon in a text value
        if segmentation is not None:
            scope["path_params"] = {"segmentation": segmentation}
        request = Request(scope)
        try:
            registry = registry_of(request)
            model = registry.get()
        except SegmentationError:
            return False  # an unknown segmentation, no model yet: the route says so
        state = scope["app"].state
        scope["route"] = _ROUTE if segmentation is None else _SEGMENTATION_ROUTE
        try:
            limiter = state.rate_limiter
            client = scope.get("client")
            await limiter.hit(limiter.predict, client[0] if client else "unknown")
            answer = answer_one(
                model,
                registry.challenger,
                customer_id=customer.get("customer_id"),
                segmentation=DEFAULT_NAME if segmentation is None else segmentation,
                predict=_predictor(customer, segmentation),
                assignments=getattr(state, "challenger_assignments", None),
            )
        except SegmentationError as exc:  # over the limit, or a value the model refuses: as the route answers
            refused = await domain_error_response(request, exc)
            await refused(scope, receive, send)
            return True
        response = FastJSONResponse(answer.body)
        answer.record(log=getattr(state, "prediction_log", None), request_id=scope.get("state", {}).get("request_id"))
        await response(scope, receive, send)
        return True
