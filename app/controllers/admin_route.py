"""The route class of guarded endpoints: a caller without the right is refused before the body is read."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant

from app.controllers.deps import admin_guard, admin_key_header, require_admin_key, require_editor
from app.core.json_route import JSONBodyRoute


def declares(dependant: Dependant, call: Callable[..., Any]) -> bool:
    """True when `call` is among a route's dependencies, at any depth."""
    return any(sub.call is call or declares(sub, call) for sub in dependant.dependencies)


async def _admin_first(request: Request) -> None:
    await admin_guard(request, await admin_key_header(request))


async def _editor_first(request: Request) -> None:
    await require_editor(request, await admin_key_header(request))


class AdminKeyFirstRoute(JSONBodyRoute):
    """A route that runs its guard first, when it declares AdminKeyDep (admins) or EditorDep (analysts and admins).

    FastAPI reads and parses the whole body (a multipart upload of up to TRAIN_MAX_UPLOAD_BYTES) before it solves
    any dependency, so the dependency alone would let a caller without the right upload a file before being refused.
    This runs the guard (and the admin rate limit) on the headers before the handler reads anything; the dependency
    still runs (it hands the route who the caller is, and shows the schemes in /docs) but finds the caller already
    resolved and counted on request.state. Read routes on the same router, which declare neither, are left as they
    are. A JSON body is held to JSONBodyRoute's rules (415 for another media type), after the guard.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, behind the route's guard."""
        handler = super().get_route_handler()
        if declares(self.dependant, require_admin_key):
            guard = _admin_first
        elif declares(self.dependant, require_editor):
            guard = _editor_first
        else:
            return handler

        async def guard_first_handler(request: Request) -> Response:
            await guard(request)
            return await handler(request)

        return guard_first_handler
