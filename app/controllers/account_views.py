"""The sign-in page and signing out: a server-side session in an HttpOnly, SameSite=Lax cookie."""

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.controllers.deps import FormSameSite, OneValuePerField, SettingsDep, SignInSameSite, answer_in_html
from app.controllers.login_throttle import throttled_login, throttled_password_change
from app.controllers.principal import csrf_token, page_principal, session_token, with_db
from app.core import cookies
from app.core.account_errors import LoginFailed
from app.core.errors import AccessDenied, RateLimited, SegmentationError
from app.core.roles import Principal, Role
from app.core.templating import signed_in, templates
from app.db.tables import User
from app.services.accounts.keys import list_keys
from app.services.accounts.sessions import end_session, start_session
from app.utils.text import as_sentence
from app.web import csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(answer_in_html)])


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only, never another site's address."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _login_page(
    request: Request, *, error: str | None = None, status_code: int = 200, next_url: str = "/", email: str = ""
) -> Response:
    """The sign-in form; after a failed attempt, its message as a sentence and the email as typed (never the
    password)."""
    # The sign-in form's own double-submit token: there is no session yet to derive one from.
    token = csrf.form_token(cookies.read_cookie(request, cookies.LOGIN_FORM))
    context = {
        "form_token": token,
        "error": as_sentence(error) if error else None,
        "email": email,
        "next_url": _safe_next(next_url),
        "picker": None,
        "active": "login",
    }
    response = templates.TemplateResponse(request, "login.html", context | signed_in(request), status_code=status_code)
    cookies.set_cookie(response, request, cookies.LOGIN_FORM, token, path=request.url_for("login").path)
    return response


@router.get("/login", response_class=HTMLResponse)
async def login(request: Request, next: str | None = None) -> Response:
    """The sign-in form."""
    await page_principal(request)  # the header shows who is signed in already, if anyone
    return _login_page(request, next_url=next or "/")


@router.post("/login", response_class=HTMLResponse, dependencies=[SignInSameSite, OneValuePerField])
async def login_submit(
    request: Request,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    form_token: Annotated[str, Form(max_length=64)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Check the email and password, start a session and go back to where the user was."""

    async def start(user: User) -> str:
        return await run_in_threadpool(with_db, request, start_session, user=user, ttl_seconds=settings.session_ttl)

    try:
        csrf.check_form_token(cookies.read_cookie(request, cookies.LOGIN_FORM), form_token)
        token = await throttled_login(request, email=email, password=password, start=start)
    except (LoginFailed, AccessDenied, RateLimited) as exc:
        return _login_page(request, error=exc.message, status_code=exc.status_code, next_url=next, email=email)
    response = RedirectResponse(_safe_next(next), status_code=303)
    # SameSite=Lax: never sent with another site's post.
    cookies.set_cookie(response, request, cookies.SESSION, token, path="/", max_age=settings.session_ttl)
    return response


@router.post("/logout", dependencies=[FormSameSite, OneValuePerField])
async def logout(request: Request, form_token: Annotated[str, Form(max_length=128)] = "") -> Response:
    """End the session (revoked in the database, so a copied cookie stops working too) and clear the cookie."""
    token = session_token(request)
    expected = csrf_token(request)
    if token is None or expected is None or not hmac.compare_digest(expected.encode(), form_token.encode()):
        raise AccessDenied("this sign-out was not sent from this site's page: sign out from the page's header")
    await run_in_threadpool(with_db, request, end_session, token=token)
    response = RedirectResponse("/", status_code=303)
    cookies.delete_cookie(response, request, cookies.SESSION, path="/")
    return response


async def _account_page(
    request: Request, principal: Principal, *, error: str | None = None, done: str | None = None, status_code: int = 200
) -> Response:
    listed = await run_in_threadpool(with_db, request, list_keys, viewer=principal)
    context = {
        "keys": [key for key in listed if key.owner == principal.name],
        "roles": [role.name for role in Role if role <= principal.role],
        "error": error,
        "done": done,
        "picker": None,
        "active": "account",
    }
    return templates.TemplateResponse(request, "account.html", context | signed_in(request), status_code=status_code)


@router.get("/account", response_class=HTMLResponse)
async def account(request: Request, done: str = "") -> Response:
    """The signed-in user's page: who they are, their password, and their personal API keys (made and revoked here)."""
    principal = await page_principal(request)
    if principal is None or principal.via != "session":
        return RedirectResponse(f"{request.url_for('login').path}?next=/account", status_code=303)
    return await _account_page(request, principal, done="your password is changed" if done == "password" else None)


@router.post("/account/password", response_class=HTMLResponse, dependencies=[FormSameSite, OneValuePerField])
async def change_password(
    request: Request,
    current_password: Annotated[str, Form(max_length=1024)] = "",
    new_password: Annotated[str, Form(max_length=1024)] = "",
    new_password_again: Annotated[str, Form(max_length=1024)] = "",
    form_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Change the signed-in user's password; their other sessions end, this one stays."""
    principal = await page_principal(request)
    token = session_token(request)
    expected = csrf_token(request)
    if principal is None or principal.via != "session" or token is None or expected is None:
        raise AccessDenied("changing your password on this page needs you signed in: sign in at /login")
    if not hmac.compare_digest(expected.encode(), form_token.encode()):
        raise AccessDenied("this form was not sent from this site's /account page: reload it and try again")
    if new_password != new_password_again:
        return await _account_page(request, principal, error="the two new passwords differ", status_code=422)

    try:
        await throttled_password_change(request, principal=principal, current=current_password, new=new_password)
    except SegmentationError as exc:
        return await _account_page(request, principal, error=exc.message, status_code=exc.status_code)
    return RedirectResponse("/account?done=password#password", status_code=303)
