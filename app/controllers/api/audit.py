"""The audit trail: who changed what and when, and every sign-in attempt (admins only)."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.controllers.admin_route import AdminKeyFirstRoute
from app.controllers.deps import AdminKeyDep, SessionDep
from app.schemas.audit import AuditPage
from app.schemas.common import NO_NUL, error_responses
from app.schemas.monitoring import IsoDateTime
from app.services import audit
from app.services.monitoring.windows import check_order

router = APIRouter(prefix="/audit", tags=["accounts"], route_class=AdminKeyFirstRoute)


@router.get(
    "",
    response_model=AuditPage,
    summary="The audit trail",
    description="Newest first, filtered by action, who, target and a time range (`since` inclusive, `until` "
    "exclusive); `limit` per page, then follow `next_cursor`.",
    responses=error_responses(401, 403, 422, 429, 503),
)
def list_audit(
    key: AdminKeyDep,
    session: SessionDep,
    action: Annotated[
        str | None, Query(max_length=40, description="One action, e.g. `version.activate`."), NO_NUL
    ] = None,
    who: Annotated[
        str | None,
        Query(
            max_length=300,
            description="Who acted, as events show it: an email, `email:key-name`, an admin key id, `cli:<login>`.",
        ),
        NO_NUL,
    ] = None,
    target: Annotated[
        str | None, Query(max_length=300, description="What was acted on: a version, run or user id."), NO_NUL
    ] = None,
    since: Annotated[IsoDateTime | None, Query(description="Events at or after this time, ISO 8601.")] = None,
    until: Annotated[IsoDateTime | None, Query(description="Events before this time, ISO 8601.")] = None,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_LIMIT, description="Events per page.")] = 50,
    cursor: Annotated[
        str | None,
        Query(max_length=18, pattern=r"^[0-9]{1,18}$", description="The `next_cursor` of the page before."),
    ] = None,
) -> dict:
    """One page of audit events."""
    check_order(since=since, until=until)  # as the monitoring routes: a mistake to say, not an empty page
    return audit.list_events(
        session=session,
        action=action,
        who=who,
        target=target,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
