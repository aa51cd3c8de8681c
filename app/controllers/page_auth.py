"""Who a page is for: the signed-in user its header shows, the actions it offers, and closed reads."""

from fastapi import Request

from app.controllers.principal import page_principal
from app.core.config import Settings
from app.core.roles import Role, is_open, require


async def page_reader(request: Request) -> None:
    """Resolve the page's signed-in user (for its header) and, with PUBLIC_READS off, ask for a viewer (401)."""
    settings: Settings = request.app.state.settings
    principal = await page_principal(request, Role.viewer, open_to_all=is_open(Role.viewer, settings))
    if not settings.public_reads:
        require(principal, Role.viewer, settings)


def actions_shown(request: Request, settings: Settings, role: Role) -> bool:
    """Whether a page offers actions that need `role`: to a signed-in user with it, or to anyone not signed in while
    ADMIN_API_KEYS exist (they type a key)."""
    principal = getattr(request.state, "principal", None)
    if principal is not None and principal.via == "session":
        return principal.role >= role
    return bool(settings.admin_api_keys)
