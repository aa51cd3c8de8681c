"""The route class of admin endpoints: a missing or wrong admin key is refused before the body is read."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant

from app.controllers.deps import admin_guard, admin_key_header, require_admin_key
from app.core.json_route import JSONBodyRoute


def declares(dependant: Dependant, call: Callable[..., Any]) -> bool:
    """True when `call` is among a route's dependencies, at any depth."""
    return any(sub.call is call or declares(sub, call) for sub in dependant.dependencies)


class AdminKeyFirstRoute(JSONBodyRoute):
    """A route that checks the admin key first, when it declares AdminKeyDep.

    FastAPI reads and parses the whole body (a multipart upload of up to TRAIN_MAX_UPLOAD_BYTES) before it solves
    any dependency, so AdminKeyDep alone would let a caller without a key upload a file before being refused.
    This runs the dependency's own check (and the admin rate limit) on the headers before the handler reads
    anything; the dependency still runs (it hands the route the key id, and shows the X-API-Key scheme in /docs)
    but finds the request already checked and counted. Routes without AdminKeyDep
    are left as they are. A JSON body is held to JSONBodyRoute's rules (415 for another media type), after the key.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, behind the admin key check."""
        handler = super().get_route_handler()
        if not declares(self.dependant, require_admin_key):
            return handler

        async def key_first_handler(request: Request) -> Response:
            await admin_guard(request, await admin_key_header(request))
            return await handler(request)

        return key_first_handler
