"""A sign-in is recorded (the audit row, the user's last login) only once its session or token exists."""

import re

import pytest
from sqlalchemy import select

from app.core.errors import DatabaseUnavailable
from app.db.tables import AuditEvent, LoginSession, User
from tests.accounts import JWT_SECRET, PASSWORD, add_user


@pytest.fixture
def site(client_for, fresh_dir, tmp_path):
    client = client_for(
        model_dir=fresh_dir, database_url=f"sqlite:///{tmp_path / 'login.sqlite3'}", jwt_secret=JWT_SECRET
    )
    add_user(client.app, "ada@example.com", "admin")
    return client


def _recorded(client) -> tuple[list[str], object]:
    with client.app.state.db_sessions() as session:
        actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
        return actions, session.scalar(select(User.last_login_at))


def _form_post(client):
    token = re.search(r'name="form_token" value="([^"]+)"', client.get("/login").text).group(1)
    return client.post(
        "/login", data={"email": "ada@example.com", "password": PASSWORD, "form_token": token}, follow_redirects=False
    )


def test_a_session_that_fails_to_start_records_no_sign_in(site, monkeypatch):
    def no_session(**kwargs):
        raise DatabaseUnavailable("sessions cannot be written")

    monkeypatch.setattr("app.controllers.account_views.start_session", no_session)
    response = _form_post(site)
    assert response.status_code == 503 and "session" not in response.cookies
    assert _recorded(site) == ([], None)


def test_a_token_that_fails_to_be_issued_records_no_sign_in(site, monkeypatch):
    def no_token(*args, **kwargs):
        raise DatabaseUnavailable("tokens cannot be signed")

    monkeypatch.setattr("app.controllers.api.auth.issue_token", no_token)
    response = site.post("/api/v1/auth/token", data={"username": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 503
    assert _recorded(site) == ([], None)


def test_a_sign_in_is_recorded_after_its_session_exists(site, monkeypatch):
    from app.controllers import account_views

    seen: list[tuple[int, list[str]]] = []
    real = account_views.start_session

    def watched(**kwargs):
        # What the database holds when the session is made: no sign-in recorded yet.
        seen.append((kwargs["session"].query(LoginSession).count(), _recorded(site)[0]))
        return real(**kwargs)

    monkeypatch.setattr(account_views, "start_session", watched)
    assert _form_post(site).status_code == 303
    assert seen == [(0, [])]
    actions, last_login = _recorded(site)
    assert actions == ["login.succeeded"] and last_login is not None
    with site.app.state.db_sessions() as session:
        assert session.query(LoginSession).count() == 1


def test_a_token_sign_in_is_recorded_once_issued(site):
    response = site.post("/api/v1/auth/token", data={"username": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 200
    actions, last_login = _recorded(site)
    assert actions == ["login.succeeded"] and last_login is not None
