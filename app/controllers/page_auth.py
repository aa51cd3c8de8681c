"""Who a page is for: the signed-in user its header shows, the actions it offers, and closed reads."""

from fastapi import Request

from app.controllers.principal import csrf_token, page_principal
from app.core.config import Settings
from app.core.roles import Role, require


async def page_reader(request: Request) -> None:
    """Resolve the page's signed-in user (for its header) and, with PUBLIC_READS off, ask for a viewer (401)."""
    principal = await page_principal(request)
    settings: Settings = request.app.state.settings
    if not settings.public_reads:
        require(principal, Role.viewer, settings)


def signed_in(request: Request) -> dict:
    """The template context of the header: who is signed in (None: nobody), and the session's CSRF token."""
    principal = getattr(request.state, "principal", None)
    if principal is None or principal.via != "session":
        return {"signed_in": None, "csrf_token": None}
    return {"signed_in": principal, "csrf_token": csrf_token(request)}


def admin_actions_shown(request: Request, settings: Settings) -> bool:
    """Whether a page offers admin actions: to a signed-in admin, or to anyone else when ADMIN_API_KEYS are set."""
    principal = getattr(request.state, "principal", None)
    if principal is not None and principal.via == "session":
        return principal.role >= Role.admin
    return bool(settings.admin_api_keys)


def editor_actions_shown(request: Request, settings: Settings) -> bool:
    """Whether a page offers segment edits: to a signed-in analyst or admin, or to anyone while ADMIN_API_KEYS exist."""
    principal = getattr(request.state, "principal", None)
    if principal is not None and principal.via == "session":
        return principal.role >= Role.analyst
    return bool(settings.admin_api_keys)
