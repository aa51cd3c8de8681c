"""Sign-in for the API: the OAuth2 password flow issues bearer tokens; personal API keys are created and revoked."""

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from app.controllers.audit import audit
from app.controllers.deps import OneValuePerField, SessionDep, SettingsDep, UserDep
from app.controllers.login_throttle import throttled_login, throttled_password_change
from app.core.credentials import issue_token, require_token_login
from app.core.errors import AccessDenied
from app.core.json_route import JSONBodyRoute
from app.core.roles import Role, scopes_of
from app.db.tables import User
from app.schemas.accounts import MAX_ID, KeyIn, KeyList, NewKeyOut, PasswordChangeIn, TokenOut
from app.schemas.common import error_responses
from app.services.accounts import keys

# JSONBodyRoute: JSON bodies only (415 otherwise), parsed strictly; the token form passes as it is.
router = APIRouter(prefix="/auth", tags=["accounts"], route_class=JSONBodyRoute)


@router.post(
    "/token",
    response_model=TokenOut,
    summary="Get a bearer token (OAuth2 password flow)",
    description="Send `username` (the email) and `password` as a form; the answer's token lasts JWT_TTL_SECONDS and "
    "carries the scopes of the user's role. Needs JWT_SECRET (or an RS256 key pair) on the server: without one this "
    "answers 503 `token_login_off`. Failed sign-ins are limited per account and per client address.",
    responses=error_responses(401, 422, 429, 503),
    dependencies=[OneValuePerField],
)
async def token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], settings: SettingsDep) -> dict:
    """A JWT for the user whose email and password the form holds."""
    require_token_login(settings)  # said before any password is checked

    async def start(user: User) -> dict:
        scopes = scopes_of(Role[user.role])
        access, ttl = issue_token(
            settings, subject=str(user.id), email=user.email, scopes=scopes, version=user.credentials_version
        )
        return {"access_token": access, "token_type": "bearer", "expires_in": ttl, "scope": " ".join(scopes)}

    return await throttled_login(request, email=form.username, password=form.password, start=start)


@router.post(
    "/keys",
    response_model=NewKeyOut,
    status_code=201,
    summary="Create a personal API key",
    description="The key is in this answer only: it is stored as a hash. Its role is at most yours.",
    responses=error_responses(400, 401, 403, 413, 415, 422, 429),
)
def create_key(request: Request, body: KeyIn, principal: UserDep, session: SessionDep) -> dict:
    """A new key for the signed-in user."""
    secret, view = keys.create_key(session=session, creator=principal, name=body.name, role=Role[body.role])
    detail = {"name": view.name, "role": view.role, "owner": view.owner}
    audit(request, who=principal.name, action="key.create", target=str(view.id), detail=detail)
    return asdict(view) | {"key": secret}


@router.get(
    "/keys",
    response_model=KeyList,
    summary="List personal API keys",
    description="Your keys, with their role, when each was last used and whether it is revoked; an admin sees "
    "everyone's. Never the keys themselves.",
    responses=error_responses(401, 403, 429),
)
def list_keys(principal: UserDep, session: SessionDep) -> dict:
    """Your keys (an admin sees everyone's); never the keys themselves."""
    return {"keys": [asdict(view) for view in keys.list_keys(session=session, viewer=principal)]}


@router.delete(
    "/keys/{key_id}",
    status_code=204,
    summary="Revoke a personal API key",
    description="The key is refused (401) from the next request on. Revoking a revoked key answers 204 again and "
    "changes nothing.",
    responses=error_responses(401, 403, 404, 422, 429),
)
def revoke_key(
    request: Request,
    key_id: Annotated[int, Path(ge=1, le=MAX_ID, description="The key's `id`, from GET /api/v1/auth/keys.")],
    principal: UserDep,
    session: SessionDep,
) -> Response:
    """Revoke one of your keys (an admin: anyone's)."""
    # Revoking a revoked key changes nothing: the same 204, and nothing for the audit trail.
    if keys.revoke_key(session=session, viewer=principal, key_id=key_id):
        audit(request, who=principal.name, action="key.revoke", target=str(key_id))
    return Response(status_code=204)


@router.post(
    "/password",
    status_code=204,
    summary="Change your password",
    description="Send `current_password` and `new_password` (at least 10 characters, not counting spaces at either "
    "end). Your other page sessions end, and bearer tokens issued before the change stop working: get a new one. "
    "A wrong current password is a 403 `wrong_password`, counted like a failed sign-in.",
    responses=error_responses(400, 401, 403, 413, 415, 422, 429),
)
async def change_password(request: Request, body: PasswordChangeIn, principal: UserDep) -> Response:
    """Change the caller's own password, the current one checked first."""
    if principal.user_id is None:
        raise AccessDenied("an ADMIN_API_KEYS key has no password: sign in as a user to change yours")

    await throttled_password_change(request, principal=principal, current=body.current_password, new=body.new_password)
    return Response(status_code=204)
