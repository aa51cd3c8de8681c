"""Helpers of the accounts tests: users added straight to an app's or a server's database, and signing in as one."""

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.core.roles import Role
from app.db.migrate import upgrade_database
from app.db.session import create_db_engine, session_factory
from app.services.accounts.users import create_user

PASSWORD = "correct horse battery staple"
JWT_SECRET = "test-jwt-secret-of-at-least-32-bytes!"


def add_user(app: FastAPI, email: str, role: str, password: str = PASSWORD) -> int:
    """A user in the app's database; its id."""
    with app.state.db_sessions() as session:
        return create_user(session=session, email=email, password=password, role=Role[role]).id


def database_with_users(url: str, users: dict[str, Role], password: str = PASSWORD) -> str:
    """A database at `url` brought up to date, holding each user (email: role) with `password`; the url, for a live
    server to be given."""
    upgrade_database(url)
    engine = create_db_engine(url)
    try:
        with session_factory(engine)() as session:
            for email, role in users.items():
                create_user(session=session, email=email, password=password, role=role)
    finally:
        engine.dispose()
    return url


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Sign in through the /login form as a browser would; the session's CSRF token (from the page it lands on)."""
    page = client.get("/login")
    assert page.status_code == 200
    token = re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/login",
        data={"email": email, "password": password, "form_token": token, "next": "/models"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    landed = client.get("/models")
    return re.search(r'data-csrf="([^"]+)"', landed.text).group(1) if 'data-csrf="' in landed.text else csrf_of(client)


def csrf_of(client: TestClient) -> str:
    """The session's CSRF token, as the header's sign-out form carries it."""
    page = client.get("/about")
    return re.search(
        r'action="[^"]*/logout"[^>]*>\s*<input type="hidden" name="form_token" value="([^"]+)"', page.text
    ).group(1)


def bearer(client: TestClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    """An Authorization header with a token from the password flow."""
    response = client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
