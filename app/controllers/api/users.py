"""Users, managed by admins: create, list, change a role, disable, set a new password."""

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from app.controllers.admin_route import AdminKeyFirstRoute
from app.controllers.audit import audit
from app.controllers.deps import AdminKeyDep, SessionDep
from app.core.roles import Role
from app.schemas.accounts import MAX_ID, PasswordIn, UserIn, UserList, UserOut, UserPatch
from app.schemas.common import error_responses
from app.services.accounts import passwords, users

# AdminKeyFirstRoute: the admin is checked before the body is read.
router = APIRouter(
    prefix="/users", tags=["accounts"], responses=error_responses(401, 403, 429), route_class=AdminKeyFirstRoute
)


@router.post(
    "",
    response_model=UserOut,
    status_code=201,
    summary="Create a user",
    description="An admin adds a user with a role (viewer, analyst or admin) and a password of at least 10 "
    "characters (spaces at either end not counted), stored as an Argon2 hash only. The first admin is made on the "
    "server: `python -m app.cli users create --email … --role admin`.",
    responses=error_responses(400, 409, 413, 415, 422),
)
def create_user(request: Request, body: UserIn, session: SessionDep, admin: AdminKeyDep) -> dict:
    """Add a user with a role; the password is stored as an Argon2 hash only."""
    view = users.create_user(
        session=session, email=body.email, password=body.password, role=Role[body.role], display_name=body.display_name
    )
    audit(request, who=admin, action="user.create", target=view.email, detail={"id": view.id, "role": view.role})
    return asdict(view)


@router.get(
    "",
    response_model=UserList,
    summary="List users",
    description="Every user with its role, when it was created and last signed in, and whether it is disabled.",
)
def list_users(session: SessionDep, admin: AdminKeyDep) -> dict:
    """Every user, oldest first (never a password hash)."""
    return {"users": [asdict(view) for view in users.list_users(session=session)]}


@router.patch(
    "/{user_id}",
    response_model=UserOut,
    summary="Change a user's role, or disable it",
    description="Disabling ends the user's sessions and stops its tokens and keys at once; lowering a role lowers "
    "its keys' roles to match. The last active admin can be neither demoted nor disabled (409 `last_admin`).",
    responses=error_responses(400, 404, 409, 413, 415, 422),
)
def change_user(
    request: Request,
    user_id: Annotated[int, Path(ge=1, le=MAX_ID, description="The user's `id`, from GET /api/v1/users.")],
    body: UserPatch,
    session: SessionDep,
    admin: AdminKeyDep,
) -> dict:
    """Change one user."""
    role = Role[body.role] if body.role is not None else None
    view = users.change_user(session=session, user_id=user_id, role=role, disabled=body.disabled)
    detail = {"id": view.id, "role": body.role, "disabled": body.disabled}
    audit(request, who=admin, action="user.update", target=view.email, detail=detail)
    return asdict(view)


@router.put(
    "/{user_id}/password",
    status_code=204,
    summary="Set a user's password",
    description="An admin sets a new password (at least 10 characters, not counting spaces at either end) for a "
    "user who lost theirs or whose password leaked: every page session of theirs ends, and bearer tokens issued "
    "before stop working.",
    responses=error_responses(400, 404, 413, 415, 422),
)
def set_password(
    request: Request,
    user_id: Annotated[int, Path(ge=1, le=MAX_ID, description="The user's `id`, from GET /api/v1/users.")],
    body: PasswordIn,
    session: SessionDep,
    admin: AdminKeyDep,
) -> Response:
    """Give one user a new password."""
    view = passwords.set_password(session=session, user_id=user_id, password=body.password)
    audit(request, who=admin, action="user.password_set", target=view.email, detail={"id": view.id})
    return Response(status_code=204)
