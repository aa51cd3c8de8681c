"""Outcomes: what customers did after being segmented (purchases, clicks), reported by a CRM, a shop or an analyst."""

import hashlib
import hmac
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, Security

from app.controllers.admin_route import declares
from app.controllers.audit import audit
from app.controllers.credential_limits import limit_failed_credentials, refuse_when_spent
from app.controllers.deps import SegmentationQuery, SessionDep, admin_key_header
from app.controllers.principal import current_principal, oauth2_scheme
from app.core.config import Settings
from app.core.credentials import PERSONAL_KEY_PREFIX
from app.core.errors import AccessDenied, AdminKeyRefused, InvalidRequest
from app.core.json_route import JSONBodyRoute
from app.core.roles import Principal, Role, sign_in_required
from app.core.security import is_admin_key
from app.models.segmentations.spec import DEFAULT_NAME
from app.models.versions import challenger as challengers
from app.schemas.common import error_responses
from app.schemas.outcomes import OutcomesIn, OutcomesStored
from app.services.experiments import outcomes


def outcome_key_id(settings: Settings, key: str | None) -> str | None:
    """`outcome-key-<hash prefix>` when `key` is one of OUTCOME_API_KEYS (compared in constant time), else None."""
    offered = (key or "").encode()
    matched = False
    for candidate in settings.outcome_api_keys:
        matched |= hmac.compare_digest(offered, candidate.get_secret_value().encode())
    if not key or not matched:
        return None
    return "outcome-key-" + hashlib.sha256(key.encode()).hexdigest()[:10]


async def _credential(request: Request, key: str | None) -> Principal | None:
    """Who the key, token or session speaks for (None: anonymous); 403 for a key of no kind this route takes."""
    if key and not key.startswith(PERSONAL_KEY_PREFIX) and not is_admin_key(request.app.state.settings, key):
        raise AdminKeyRefused("the X-API-Key header holds no key from OUTCOME_API_KEYS, no user's key, no admin key")
    return await current_principal(request, key)


async def _writer(request: Request, key: str | None) -> str:
    settings: Settings = request.app.state.settings
    named = outcome_key_id(settings, key)
    if named is not None:
        await refuse_when_spent(request)
        return named
    # Only a credential that fails counts as a guess; a valid one whose role is too low is refused below, uncounted.
    principal = await limit_failed_credentials(request, lambda: _credential(request, key))
    if principal is None and not (settings.outcome_api_keys or settings.admin_api_keys) and settings.public_reads:
        raise AdminKeyRefused(
            "reporting outcomes is closed: set OUTCOME_API_KEYS (comma-separated) and send one in X-API-Key, or sign "
            "in as an analyst or admin"
        )
    if principal is None:
        raise sign_in_required("a key from OUTCOME_API_KEYS, or an analyst or admin")
    if principal.role < Role.analyst:
        raise AccessDenied(
            f"reporting outcomes needs the analyst role or a key from OUTCOME_API_KEYS, and {principal.name} is "
            f"{principal.role.name}"
        )
    return principal.name


async def outcome_guard(request: Request, key: str | None) -> str:
    """Who reports the outcomes (an outcome key's id, a user, a personal or admin key), checked once per request."""
    checked: str | None = getattr(request.state, "outcome_writer", None)
    if checked is None:
        checked = await _writer(request, key)
        request.state.outcome_writer = checked
    return checked


async def require_outcome_writer(
    request: Request,
    key: Annotated[str | None, Security(admin_key_header)] = None,
    token: Annotated[str | None, Security(oauth2_scheme)] = None,
) -> str:
    """An OUTCOME_API_KEYS key, or an analyst or admin (session, token, personal or admin key): 401, 403, 429."""
    return await outcome_guard(request, key)


OutcomeWriterDep = Annotated[str, Depends(require_outcome_writer)]


class OutcomeKeyFirstRoute(JSONBodyRoute):
    """A route that checks who writes before it reads the body (as AdminKeyFirstRoute does for admin keys)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, behind the writer check."""
        handler = super().get_route_handler()
        if not declares(self.dependant, require_outcome_writer):
            return handler

        async def writer_first_handler(request: Request) -> Response:
            await outcome_guard(request, await admin_key_header(request))
            return await handler(request)

        return writer_first_handler


router = APIRouter(prefix="/outcomes", tags=["outcomes"], route_class=OutcomeKeyFirstRoute)


@router.post(
    "",
    response_model=OutcomesStored,
    summary="Report outcomes",
    description="Stores what customers did (`event`, an optional `value` and `campaign`, `occurred_at`), each joined "
    "at arrival to the customer's challenger arm in the experiment running when it occurred (none for an event "
    "before their assignment) and the segment of their newest logged prediction. "
    "Customers never seen are stored as unmatched and counted. Needs a key from OUTCOME_API_KEYS, or an analyst or "
    "admin. At most OUTCOMES_MAX_EVENTS events (422 past it) and MAX_BODY_BYTES (413).",
    responses=error_responses(400, 401, 403, 404, 413, 415, 422, 429, 503),
)
def post(
    body: OutcomesIn,
    request: Request,
    session: SessionDep,
    writer: OutcomeWriterDep,
    segmentation: SegmentationQuery = DEFAULT_NAME,
) -> dict[str, Any]:
    """Store outcome events."""
    settings: Settings = request.app.state.settings
    if len(body.events) > settings.outcomes_max_events:
        raise InvalidRequest(
            f"events: too many, at most {settings.outcomes_max_events} per request, got {len(body.events)}; split them"
        )
    registry = request.app.state.registry
    if segmentation != DEFAULT_NAME:
        request.app.state.segmentations.require(segmentation)
        registry = request.app.state.segmentations.registry(segmentation)
    history = challengers.read_history(registry.store.root)
    stored = outcomes.store_outcomes(session=session, segmentation=segmentation, events=body.events, history=history)
    detail = {k: stored[k] for k in ("stored", "matched", "unmatched")}
    audit(request, who=writer, action="outcomes.record", target=segmentation, detail=detail)
    return stored
