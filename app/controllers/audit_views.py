"""The /audit page: the audit trail, filtered, for a signed-in admin or anyone who types an admin key."""

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from app.controllers.credential_limits import limit_failed_credentials
from app.controllers.deps import FormSameSite, OneValuePerField, SettingsDep, answer_in_html
from app.controllers.page_auth import page_reader
from app.controllers.principal import page_principal, principal_of_key, with_db
from app.core.roles import Role, require
from app.core.templating import signed_in, templates
from app.services import audit
from app.services.monitoring.windows import ReversedSpan, check_order
from app.utils.moments import in_calendar
from app.utils.numbers import whole_number

router = APIRouter(include_in_schema=False, dependencies=[Depends(answer_in_html), Depends(page_reader)])
PAGE_SIZE = 100


def _filters(action: str, who: str, target: str, since: str, until: str, cursor: str) -> dict[str, str]:
    return {"action": action, "who": who, "target": target, "since": since, "until": until, "cursor": cursor}


def _moment(text: str) -> datetime | None:
    """The filter's moment, or None (no filter) for text that is no date or lies off the calendar."""
    try:
        return in_calendar(datetime.fromisoformat(text)) if text else None
    except ValueError:
        return None


def _reversed_span(since: datetime | None, until: datetime | None) -> dict[str, str] | None:
    """A Since after its Until as the page says it (as /monitoring does), None for a span in order."""
    try:
        check_order(since=since, until=until)
    except ReversedSpan as exc:
        return {"since": exc.since.isoformat(), "until": exc.until.isoformat()}
    return None


async def _render(request: Request, filters: dict[str, str], *, allowed: bool, with_key: bool) -> HTMLResponse:
    page = None
    since, until = _moment(filters["since"]), _moment(filters["until"])
    # Said next to the filters rather than answered with an empty list, as GET /api/v1/audit answers a 422.
    span_error = _reversed_span(since, until) if allowed else None
    if allowed and span_error is None:
        page = await run_in_threadpool(
            with_db,
            request,
            audit.list_events,
            action=filters["action"] or None,
            who=filters["who"] or None,
            target=filters["target"] or None,
            since=since,
            until=until,
            limit=PAGE_SIZE,
            cursor=filters["cursor"] if whole_number(filters["cursor"]) is not None else None,
        )
    older = None
    if page is not None and page["next_cursor"]:
        kept = {name: value for name, value in filters.items() if value and name != "cursor"}
        older = "/audit?" + urlencode(kept | {"cursor": page["next_cursor"]})
    context = {
        "older": older,
        "active": "audit",
        "picker": None,
        "filters": filters,
        "actions": audit.ACTIONS,
        "page": page,
        "span_error": span_error,
        "with_key": with_key,
    }
    status = 422 if span_error else 200
    return templates.TemplateResponse(request, "audit.html", context | signed_in(request), status_code=status)


Text = Annotated[str, Query(max_length=300)]


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    action: Text = "",
    who: Text = "",
    target: Text = "",
    since: Text = "",
    until: Text = "",
    cursor: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    """The trail for a signed-in admin; the admin key form for anyone else."""
    principal = await page_principal(request)
    allowed = principal is not None and principal.via == "session" and principal.role >= Role.admin
    return await _render(request, _filters(action, who, target, since, until, cursor), allowed=allowed, with_key=False)


FormText = Annotated[str, Form(max_length=300)]


@router.post("/audit", response_class=HTMLResponse, dependencies=[FormSameSite, OneValuePerField])
async def audit_page_with_key(
    request: Request,
    settings: SettingsDep,
    key: Annotated[str, Form(max_length=200)] = "",
    action: FormText = "",
    who: FormText = "",
    target: FormText = "",
    since: FormText = "",
    until: FormText = "",
    cursor: Annotated[str, Form(max_length=20)] = "",
) -> HTMLResponse:
    """The trail for an admin's key typed into the page (sent in the form body, never in the address)."""

    # The form's key by the rules of X-API-Key: an ADMIN_API_KEYS key or an admin's personal key. Only a key that
    # fails counts as a guess, not a valid one whose role is too low.
    require(await limit_failed_credentials(request, lambda: principal_of_key(request, key)), Role.admin, settings)
    return await _render(request, _filters(action, who, target, since, until, cursor), allowed=True, with_key=True)
