"""What a matched route needs of its caller, read from its guards: for messages that say so to a wrong key."""

from fastapi import Request
from fastapi.dependencies.models import Dependant

from app.core.config import Settings
from app.core.roles import Role, is_open

# The guards of app/controllers/deps.py by name (that module imports this one): the role each asks for, and
# whether PUBLIC_READS opens it to anyone. A route's guards run in order, its router's first, so a wrong key is
# refused by the first of them; its message must still speak for the highest.
GUARDS = {
    "require_viewer": (Role.viewer, True),
    "require_analyst": (Role.analyst, True),
    "require_user": (Role.viewer, False),
    "require_editor": (Role.analyst, False),
    "require_admin_key": (Role.admin, False),
}
# Read once per route, and kept on it (routes are not hashable).
_NEED = "_caller_guards"


def _guards(dependant: Dependant) -> list[tuple[Role, bool]]:
    found = [GUARDS[name] for name in (getattr(dependant.call, "__name__", None),) if name in GUARDS]
    for child in dependant.dependencies:
        found.extend(_guards(child))
    return found


def route_need(request: Request, settings: Settings, guard: tuple[Role, bool]) -> tuple[Role, bool]:
    """The highest role the request's route needs, of `guard` (the one checking now) and the guards the route
    declares itself (its router's are not on it, and ask for no more), and whether anyone may call it: PUBLIC_READS
    on and no guard of that role closed."""
    route = request.scope.get("route")
    guards = getattr(route, _NEED, None)
    if guards is None:
        dependant = getattr(route, "dependant", None)
        guards = _guards(dependant) if isinstance(dependant, Dependant) else []
        if route is not None:
            setattr(route, _NEED, guards)
    every = [guard, *guards]
    highest = max(role for role, _ in every)
    opens = all(opens for role, opens in every if role == highest)
    return highest, opens and is_open(highest, settings)
