"""The one line a route adds after its change succeeded: an audit row with the request's id, who and client."""

from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from app.controllers.credential_limits import client_ip
from app.services import audit as audit_service


def request_id_of(request: Request) -> str | None:
    """The request's id: the one the middleware kept, else the X-Request-ID the client sent."""
    return getattr(request.state, "request_id", None) or request.headers.get("x-request-id")


def audit(request: Request, *, who: str, action: str, target: str, detail: dict[str, Any] | None = None) -> None:
    """Record `action` on `target` by `who` (a guard's name); never fails the request (a warning when it cannot)."""
    audit_service.record(
        sessions=getattr(request.app.state, "db_sessions", None),
        who=who,
        action=action,
        target=target,
        request_id=request_id_of(request),
        client=client_ip(request),
        detail=detail,
    )


async def audit_async(
    request: Request, *, who: str, action: str, target: str, detail: dict[str, Any] | None = None
) -> None:
    """`audit` for async routes: the write runs in a worker thread, off the event loop."""
    await run_in_threadpool(audit, request, who=who, action=action, target=target, detail=detail)
