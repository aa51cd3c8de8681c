"""Who may do what: the roles, what each one may do, and the scopes a token carries; pages and the API ask here."""

from dataclasses import dataclass
from enum import IntEnum

from app.core.account_errors import SignInRequired
from app.core.config import Settings
from app.core.errors import AccessDenied, AdminKeyRefused


class Role(IntEnum):
    """A user's role; each one may do everything the roles below it may."""

    viewer = 1
    analyst = 2
    admin = 3

    @classmethod
    def named(cls, name: str) -> "Role":
        """The role called `name` (ValueError for another name)."""
        try:
            return cls[name]
        except KeyError:
            raise ValueError(f"unknown role {name!r}: use one of {', '.join(ROLE_NAMES)}") from None


ROLE_NAMES = tuple(role.name for role in Role)

# What each role may do, for /docs and the README; `allows` is the rule itself.
DOES = {
    Role.viewer: "read pages and the API",
    Role.analyst: "also score files, create runs and reports, and edit segment names and strategies",
    Role.admin: "also train, activate, roll back, delete, manage challengers, manage users and keys",
}

# OAuth2 scopes: a token carries its role's scope and those below it.
SCOPES = {
    "read": "Read pages and the API (viewer).",
    "score": "Score files, create runs and reports, edit segments (analyst).",
    "admin": "Train, activate, roll back, delete, manage users and keys (admin).",
}
_SCOPE_OF = {Role.viewer: "read", Role.analyst: "score", Role.admin: "admin"}


def scopes_of(role: Role) -> list[str]:
    """The scopes a token of `role` carries."""
    return [_SCOPE_OF[r] for r in Role if r <= role]


def role_of_scopes(scopes: list[str]) -> Role | None:
    """The highest role the scopes grant, or None when they grant none."""
    granted = [r for r in Role if _SCOPE_OF[r] in scopes]
    return max(granted) if granted else None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who sent a request: a user (session or token), a personal key, or an ADMIN_API_KEYS service key."""

    name: str
    role: Role
    # "session", "token", "key" (a personal key) or "service" (a key from ADMIN_API_KEYS).
    via: str
    user_id: int | None = None


def is_open(needed: Role, settings: Settings) -> bool:
    """Whether anyone may do what `needed` allows without signing in: reads and scoring while PUBLIC_READS is on."""
    return settings.public_reads and needed < Role.admin


def allows(principal: Principal | None, needed: Role, settings: Settings) -> bool:
    """Whether `principal` (None: anonymous) may do what needs `needed`."""
    if principal is None:
        return is_open(needed, settings)
    return principal.role >= needed or is_open(needed, settings)


# How an anonymous caller gets in, after what the route needs: every 401 of a route with a role says it the same way.
HOW_TO_SIGN_IN = (
    "sign in at /login, send a token from /api/v1/auth/token as Authorization: Bearer, or an API key in X-API-Key"
)


def sign_in_required(needs: str) -> SignInRequired:
    """The 401 for an anonymous caller: what grants access (`needs`, e.g. "the analyst role"), then how to sign in."""
    return SignInRequired(f"this needs {needs}: {HOW_TO_SIGN_IN}")


def wrong_key(needed: Role, *, open_to_all: bool, admin_keys: bool) -> AdminKeyRefused:
    """The 403 for an X-API-Key that is no key of this server, saying what a route below admin takes (and, when
    `open_to_all`, that it takes no key at all; without `admin_keys`, that ADMIN_API_KEYS is empty)."""
    takes = "a key of any role" if needed == Role.viewer else f"a key of the {needed.name} role or above"
    which = "or an ADMIN_API_KEYS key" if admin_keys else "no admin keys are configured, so no ADMIN_API_KEYS key"
    anyone = "; or send no key: PUBLIC_READS lets anyone call it" if open_to_all else ""
    return AdminKeyRefused(
        f"the X-API-Key header holds no key of this server: this endpoint takes {takes} (a user's personal key "
        f"from POST /api/v1/auth/keys; {which}){anyone}"
    )


def require(principal: Principal | None, needed: Role, settings: Settings) -> None:
    """Nothing when allowed; 401 for an anonymous caller, 403 for a signed-in one whose role is too low."""
    if allows(principal, needed, settings):
        return
    if principal is None:
        raise sign_in_required(f"the {needed.name} role")
    raise AccessDenied(f"this needs the {needed.name} role, and {principal.name} is {principal.role.name}")


def may_grant(creator: Role, wanted: Role) -> bool:
    """Whether a user of role `creator` may give a key (or a user) the role `wanted`: never above their own."""
    return wanted <= creator
