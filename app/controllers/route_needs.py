"""What a matched route needs of its caller, read from its guards: for messages that say so to a wrong key."""

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.dependencies.models import Dependant

from app.core.config import Settings
from app.core.roles import Role, is_open

_Guard = TypeVar("_Guard", bound=Callable[..., Any])

# The guards of app/controllers/deps.py (that module imports this one, and marks each with `guard`): the role each
# asks for, and whether PUBLIC_READS opens it to anyone. A route's guards run in order, its router's first, so a
# wrong key is refused by the first of them; its message must still speak for the highest.
GUARDS: dict[Callable[..., Any], tuple[Role, bool]] = {}


def guard(role: Role, *, opens: bool) -> Callable[[_Guard], _Guard]:
    """Mark a dependency as a guard asking for `role` (`opens`: PUBLIC_READS lets anyone past it)."""

    def mark(function: _Guard) -> _Guard:
        GUARDS[function] = (role, opens)
        return function

    return mark


# Read once per route, and kept on it (routes are not hashable).
_NEED = "_caller_guards"


def _guards(dependant: Dependant) -> list[tuple[Role, bool]]:
    try:
        found = [GUARDS[dependant.call]] if dependant.call in GUARDS else []
    except TypeError:  # a dependency that is an unhashable callable object is no guard
        found = []
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
