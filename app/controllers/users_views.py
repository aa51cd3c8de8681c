"""The /users page: an admin lists users, adds one, changes a role, disables or enables one (form posts, CSRF)."""

import hmac
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.controllers.audit import audit_async
from app.controllers.deps import FormSameSite, OneValuePerField, SettingsDep, answer_in_html
from app.controllers.page_auth import page_reader
from app.controllers.principal import csrf_token, page_principal, with_db
from app.core.account_errors import AccountConflict
from app.core.errors import AccessDenied, SegmentationError
from app.core.roles import ROLE_NAMES, Principal, Role, require
from app.core.templating import signed_in, templates
from app.schemas.accounts import MAX_ID, RoleName
from app.services.accounts import users
from app.utils.text import as_sentence
from app.web.pages.users import NewUserForm

# page_reader: with PUBLIC_READS off an anonymous caller gets the 401 every page gives.
router = APIRouter(include_in_schema=False, dependencies=[Depends(answer_in_html), Depends(page_reader)])


async def _admin(request: Request, settings: SettingsDep) -> Principal | None:
    principal = await page_principal(request)
    if principal is not None:
        require(principal, Role.admin, settings)  # 403 for a viewer or an analyst
    return principal


async def _page(
    request: Request,
    *,
    error: str | None = None,
    done: tuple[str, str] | None = None,
    form: NewUserForm | None = None,
    status_code: int = 200,
):
    listed = await run_in_threadpool(with_db, request, users.list_users)
    # Said only of a user on the list: the address comes from a link anyone can write, and must not become text
    # of their choosing on an admin's page.
    said = done is not None and done[0] in DONE and done[1] in {user.email for user in listed}
    context = {
        "users": listed,
        "roles": ROLE_NAMES,
        "error": as_sentence(error) if error else None,
        "done": f"{done[0]} {done[1]}" if said else None,
        "form": form or NewUserForm(),
        "picker": None,
        "active": "users",
    }
    return templates.TemplateResponse(request, "users.html", context | signed_in(request), status_code=status_code)


@router.get("/users", response_class=HTMLResponse)
async def users_page(
    request: Request,
    settings: SettingsDep,
    done: str = "",
    user: str = "",
) -> Response:
    """Every user, with the forms to add one and change one (the forms for a signed-in admin's session only)."""
    if await _admin(request, settings) is None:
        return RedirectResponse(f"{request.url_for('login').path}?next=/users", status_code=303)
    return await _page(request, done=(done, user) if done else None)


async def _session_admin(request: Request, settings: SettingsDep, form_token: str) -> Principal:
    """The signed-in admin who sent this page's form: its token must be the session's (another site cannot know it)."""
    principal = await _admin(request, settings)
    expected = csrf_token(request)
    if principal is None or principal.via != "session" or expected is None:
        raise AccessDenied("changing users from this page needs a signed-in admin: sign in at /login")
    if not hmac.compare_digest(expected.encode(), form_token.encode()):
        raise AccessDenied("this form was not sent from this site's /users page: reload it and try again")
    return principal


FormText = Annotated[str, Form(max_length=1024)]


@router.post("/users", response_class=HTMLResponse, dependencies=[FormSameSite, OneValuePerField])
async def create_user(
    request: Request,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: FormText = "",
    role: Annotated[RoleName, Form()] = "viewer",
    display_name: Annotated[str, Form(max_length=100)] = "",
    form_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Add a user with a role; the password is stored as an Argon2 hash only."""
    admin = await _session_admin(request, settings, form_token)
    typed = {"email": email, "display_name": display_name, "role": role}
    # Every field's problem at once, so one round trip fixes them all (the service stops at the first).
    if problems := users.new_user_problems(email=email, password=password, display_name=display_name):
        return await _page(request, form=NewUserForm.refused(**typed, problems=problems), status_code=422)
    try:
        view = await run_in_threadpool(
            with_db,
            request,
            users.create_user,
            email=email,
            password=password,
            role=Role.named(role),
            display_name=display_name,
        )
    except AccountConflict as exc:
        form = NewUserForm.refused(**typed, problems={"email": exc.message})
        return await _page(request, form=form, status_code=exc.status_code)
    except SegmentationError as exc:
        return await _page(request, error=exc.message, form=NewUserForm(**typed), status_code=exc.status_code)
    await audit_async(
        request, who=admin.name, action="user.create", target=view.email, detail={"id": view.id, "role": view.role}
    )
    return _done("added", view.email)


# What the list page may say was done to a user.
DONE = ("added", "changed")


def _done(action: str, email: str) -> RedirectResponse:
    """Back to the list, saying what was done (encoded: an address may hold '+', which a query reads as a space)."""
    return RedirectResponse(f"/users?{urlencode({'done': action, 'user': email})}", status_code=303)


@router.post("/users/{user_id}", response_class=HTMLResponse, dependencies=[FormSameSite, OneValuePerField])
async def change_user(
    request: Request,
    settings: SettingsDep,
    user_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    role: Annotated[Literal["", "viewer", "analyst", "admin"], Form()] = "",
    disabled: Annotated[Literal["", "true", "false"], Form()] = "",
    form_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Change a user's role, or disable or enable them (the last active admin stays one: the page says why)."""
    admin = await _session_admin(request, settings, form_token)
    new_role = Role.named(role) if role else None
    off = {"true": True, "false": False}.get(disabled)
    try:
        view = await run_in_threadpool(
            with_db, request, users.change_user, user_id=user_id, role=new_role, disabled=off
        )
    except SegmentationError as exc:
        return await _page(request, error=exc.message, status_code=exc.status_code)
    detail = {"id": view.id, "role": new_role.name if new_role else None, "disabled": off}
    await audit_async(request, who=admin.name, action="user.update", target=view.email, detail=detail)
    return _done("changed", view.email)
