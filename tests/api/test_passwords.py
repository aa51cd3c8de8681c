"""Passwords by API: a user changes their own (the current one first), an admin sets anyone's; both are audited."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.credentials import verify_password
from app.db.tables import AuditEvent, User
from tests.accounts import JWT_SECRET, PASSWORD, add_user, bearer, sign_in

NEW = "a brand new passphrase"


@pytest.fixture
def accounts(client_for, fresh_dir, tmp_path):
    client = client_for(
        model_dir=fresh_dir, database_url=f"sqlite:///{tmp_path / 'passwords.sqlite3'}", jwt_secret=JWT_SECRET
    )
    ids = {
        email: add_user(client.app, email, role)
        for email, role in [("ada@example.com", "admin"), ("vic@example.com", "viewer")]
    }
    return client, ids


def _audited(client, action: str) -> list[tuple[str, str]]:
    with client.app.state.db_sessions() as session:
        rows = session.execute(select(AuditEvent.who, AuditEvent.target).where(AuditEvent.action == action))
        return [tuple(row) for row in rows]


def _token_works(client, password: str) -> bool:
    answer = client.post("/api/v1/auth/token", data={"username": "vic@example.com", "password": password})
    return answer.status_code == 200


def test_a_user_changes_their_own_password_with_the_current_one(accounts):
    client, _ = accounts
    body = {"current_password": PASSWORD, "new_password": NEW}
    response = client.post("/api/v1/auth/password", json=body, headers=bearer(client, "vic@example.com"))
    assert response.status_code == 204
    assert _token_works(client, NEW) and not _token_works(client, PASSWORD)
    assert _audited(client, "user.password_change") == [("vic@example.com", "vic@example.com")]


def test_a_wrong_current_password_is_refused_and_changes_nothing(accounts):
    client, _ = accounts
    body = {"current_password": "not my password", "new_password": NEW}
    response = client.post("/api/v1/auth/password", json=body, headers=bearer(client, "vic@example.com"))
    assert response.status_code == 403 and response.json()["type"] == "wrong_password"
    assert _token_works(client, PASSWORD) and _audited(client, "user.password_change") == []


def test_a_new_password_keeps_the_rules_of_creation(accounts):
    client, _ = accounts
    body = {"current_password": PASSWORD, "new_password": "short"}
    response = client.post("/api/v1/auth/password", json=body, headers=bearer(client, "vic@example.com"))
    assert response.status_code == 422 and "at least 10" in response.json()["message"]


def test_anonymous_callers_cannot_change_a_password(accounts):
    client, _ = accounts
    response = client.post("/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": NEW})
    assert response.status_code == 401


def test_an_admin_sets_a_users_password_and_ends_their_sessions(accounts, client_for):
    client, ids = accounts
    sign_in(client, "vic@example.com")
    assert client.get("/account").status_code == 200
    admin = bearer(client, "ada@example.com")
    response = client.put(f"/api/v1/users/{ids['vic@example.com']}/password", json={"password": NEW}, headers=admin)
    assert response.status_code == 204
    assert _token_works(client, NEW) and not _token_works(client, PASSWORD)
    ended = client.get("/account", follow_redirects=False)
    assert ended.status_code == 303 and ended.headers["location"].startswith("/login")
    assert _audited(client, "user.password_set") == [("ada@example.com", "vic@example.com")]


def test_only_an_admin_sets_another_users_password(accounts):
    client, ids = accounts
    response = client.put(
        f"/api/v1/users/{ids['ada@example.com']}/password",
        json={"password": NEW},
        headers=bearer(client, "vic@example.com"),
    )
    assert response.status_code == 403
    missing = client.put(
        "/api/v1/users/999/password", json={"password": NEW}, headers=bearer(client, "ada@example.com")
    )
    assert missing.status_code == 404


def test_ten_spaces_are_not_a_password_for_a_new_user_nor_a_new_one(accounts):
    client, ids = accounts
    admin = bearer(client, "ada@example.com")
    created = client.post("/api/v1/users", json={"email": "new@example.com", "password": " " * 10}, headers=admin)
    assert created.status_code == 422 and "not counting spaces" in created.json()["message"]
    set_blank = client.put(
        f"/api/v1/users/{ids['vic@example.com']}/password", json={"password": " " * 12}, headers=admin
    )
    assert set_blank.status_code == 422


def test_a_page_session_that_changes_its_password_by_api_stays_and_the_others_end(accounts):
    client, _ = accounts
    csrf = sign_in(client, "vic@example.com")
    other = TestClient(client.app)
    sign_in(other, "vic@example.com")
    body = {"current_password": PASSWORD, "new_password": NEW}
    response = client.post("/api/v1/auth/password", json=body, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    assert client.get("/account", follow_redirects=False).status_code == 200
    assert other.get("/account", follow_redirects=False).status_code == 303
    assert _audited(client, "user.password_change") == [("vic@example.com", "vic@example.com")]


def test_wrong_current_passwords_are_throttled_like_failed_sign_ins(client_for, fresh_dir, tmp_path):
    client = client_for(
        model_dir=fresh_dir,
        database_url=f"sqlite:///{tmp_path / 'throttled.sqlite3'}",
        jwt_secret=JWT_SECRET,
        rate_limit_login="3/minute",
    )
    add_user(client.app, "vic@example.com", "viewer")
    headers = bearer(client, "vic@example.com")
    wrong = {"current_password": "not my password", "new_password": NEW}
    statuses = [client.post("/api/v1/auth/password", json=wrong, headers=headers).status_code for _ in range(4)]
    assert statuses == [403, 403, 403, 429]
    # Spent: the right current password is refused too, and nothing changed.
    body = {"current_password": PASSWORD, "new_password": NEW}
    right = client.post("/api/v1/auth/password", json=body, headers=headers)
    assert right.status_code == 429
    assert _audited(client, "user.password_change") == []
    with client.app.state.db_sessions() as session:
        stored = session.scalar(select(User.password_hash).where(User.email == "vic@example.com"))
    assert verify_password(PASSWORD, stored)
