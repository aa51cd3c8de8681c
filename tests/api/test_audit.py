"""The audit trail: one row per successful change (and per sign-in attempt), none for refused or failed calls."""

import json

import pytest
from sqlalchemy import select

from app.core.security import key_id
from app.db.tables import AuditEvent
from tests.accounts import JWT_SECRET, PASSWORD, add_user, bearer

SERVICE_KEY = "service-admin-key-audit-1"
ADMIN = {"X-API-Key": SERVICE_KEY}


@pytest.fixture
def trail(client_for, two_versions, tmp_path):
    """A client on a fresh database with two versions, token login, an admin, an analyst and a service key."""
    root, first, second = two_versions
    client = client_for(
        model_dir=root,
        database_url=f"sqlite:///{tmp_path / 'audit.sqlite3'}",
        jwt_secret=JWT_SECRET,
        admin_api_keys=[SERVICE_KEY],
    )
    add_user(client.app, "ada@example.com", "admin")
    add_user(client.app, "ann@example.com", "analyst")
    return client, first, second


def rows(client) -> list[AuditEvent]:
    with client.app.state.db_sessions() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def changes(client) -> list[AuditEvent]:
    return [row for row in rows(client) if not row.action.startswith("login.")]


@pytest.mark.parametrize("as_user", [False, True], ids=["service-key", "signed-in-admin"])
def test_version_changes_record_who_what_and_target(trail, as_user):
    client, first, second = trail
    headers = bearer(client, "ada@example.com") if as_user else ADMIN
    who = "ada@example.com" if as_user else key_id(SERVICE_KEY)
    assert client.post(f"/api/v1/models/{second}/activate?reason=try", headers=headers).status_code == 200
    assert client.post("/api/v1/models/rollback", headers=headers).status_code == 200
    assert client.delete(f"/api/v1/models/{second}", headers=headers).status_code == 204
    recorded = [(row.who, row.action, row.target) for row in changes(client)]
    assert recorded == [
        (who, "version.activate", second),
        (who, "version.rollback", first),
        (who, "version.delete", second),
    ]
    activate = changes(client)[0]
    assert activate.detail["from"] == first and activate.detail["reason"] == "try"
    assert activate.client and activate.at.tzinfo is not None


def test_activation_history_names_the_user(trail):
    client, _, second = trail
    headers = bearer(client, "ada@example.com")
    client.post(f"/api/v1/models/{second}/activate", headers=headers)
    latest = client.get("/api/v1/models/history").json()["entries"][-1]
    assert latest["to"] == second and latest["key_id"] == "ada@example.com"
    assert changes(client)[0].who == "ada@example.com"


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("post", "/api/v1/models/{second}/activate", 401),
        ("post", "/api/v1/models/rollback", 401),
        ("delete", "/api/v1/models/{second}", 401),
    ],
)
def test_refused_calls_record_nothing(trail, method, path, expected):
    client, _, second = trail
    url = path.format(second=second)
    assert getattr(client, method)(url).status_code == expected
    analyst = bearer(client, "ann@example.com")
    assert getattr(client, method)(url, headers=analyst).status_code == 403
    assert changes(client) == []


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("post", "/api/v1/models/{first}/activate", 409),  # already active
        ("delete", "/api/v1/models/{first}", 409),  # the active version
        ("delete", "/api/v1/models/no-such-version", 404),
    ],
)
def test_failed_calls_record_nothing(trail, method, path, expected):
    client, first, _ = trail
    assert getattr(client, method)(path.format(first=first), headers=ADMIN).status_code == expected
    assert changes(client) == []


def test_login_succeeded_and_failed_are_recorded_without_the_password(trail):
    client, _, _ = trail
    wrong = "not-the-password-xyz"
    assert client.post("/api/v1/auth/token", data={"username": "ada@example.com", "password": wrong}).status_code == 401
    bearer(client, "ada@example.com")
    logins = [(row.who, row.action, row.target) for row in rows(client)]
    assert logins == [
        ("ada@example.com", "login.failed", "ada@example.com"),
        ("ada@example.com", "login.succeeded", "ada@example.com"),
    ]
    stored = json.dumps([[row.who, row.target, row.detail, row.request_id] for row in rows(client)])
    assert wrong not in stored and PASSWORD not in stored


def test_secrets_never_reach_the_trail(trail):
    client, _, second = trail
    client.post(f"/api/v1/models/{second}/activate", headers=ADMIN)
    bearer(client, "ada@example.com")
    with client.app.state.db_engine.connect() as connection:
        dump = json.dumps([list(map(str, row)) for row in connection.exec_driver_sql("SELECT * FROM audit_events")])
    assert len(rows(client)) == 2
    for secret in (SERVICE_KEY, PASSWORD, JWT_SECRET):
        assert secret not in dump


def test_the_list_filters_and_pages_newest_first(trail):
    client, first, second = trail
    for _ in range(3):
        assert client.post(f"/api/v1/models/{second}/activate", headers=ADMIN).status_code == 200
        assert client.post(f"/api/v1/models/{first}/activate", headers=ADMIN).status_code == 200
    everything = client.get("/api/v1/audit", headers=ADMIN).json()
    ids = [event["id"] for event in everything["events"]]
    assert len(ids) == 6 and ids == sorted(ids, reverse=True) and everything["next_cursor"] is None

    only_second = client.get("/api/v1/audit", params={"target": second}, headers=ADMIN).json()["events"]
    assert len(only_second) == 3 and {event["target"] for event in only_second} == {second}
    by_action = client.get("/api/v1/audit", params={"action": "version.delete"}, headers=ADMIN).json()
    assert by_action["events"] == []
    by_who = client.get("/api/v1/audit", params={"who": key_id(SERVICE_KEY)}, headers=ADMIN).json()
    assert len(by_who["events"]) == 6

    seen, cursor = [], None
    while True:
        params = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/audit", params=params, headers=ADMIN).json()
        seen += [event["id"] for event in page["events"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids

    newest = everything["events"][0]["at"]
    assert client.get("/api/v1/audit", params={"until": newest}, headers=ADMIN).json()["events"][0]["id"] != ids[0]
    since = client.get("/api/v1/audit", params={"since": newest}, headers=ADMIN).json()["events"]
    assert since[0]["id"] == ids[0]
    for cursor in ("abc", "²", "-3", "9" * 30):  # "²".isdigit() is true; 30 digits overflow a 64-bit id
        assert client.get("/api/v1/audit", params={"cursor": cursor}, headers=ADMIN).status_code == 422


def test_the_list_is_for_admins_only(trail):
    client, _, _ = trail
    assert client.get("/api/v1/audit").status_code == 401
    assert client.get("/api/v1/audit", headers=bearer(client, "ann@example.com")).status_code == 403
    assert client.get("/api/v1/audit", headers=bearer(client, "ada@example.com")).status_code == 200


def test_a_database_failure_never_fails_the_change(trail, monkeypatch, caplog):
    client, _, second = trail

    def broken():
        from sqlalchemy.exc import OperationalError

        raise OperationalError("insert", {}, Exception("down"))

    monkeypatch.setattr(client.app.state, "db_sessions", broken)
    assert client.post(f"/api/v1/models/{second}/activate", headers=ADMIN).status_code == 200
    assert "not recorded" in caplog.text


def test_moments_off_the_calendar_are_refused_or_ignored_not_a_500(trail):
    client, _, _ = trail
    response = client.get("/api/v1/audit", params={"since": "0001-01-01T00:00:00+14:00"}, headers=ADMIN)
    assert response.status_code == 422
    assert "expected a moment between" in response.text


def test_a_since_after_its_until_is_a_422_that_says_so(trail):
    client, _, _ = trail
    response = client.get(
        "/api/v1/audit", params={"since": "2026-12-06T12:00:00Z", "until": "2026-12-01T12:00:00Z"}, headers=ADMIN
    )
    assert response.status_code == 422
    assert "give a since before the until" in response.json()["message"]
    same = client.get(
        "/api/v1/audit", params={"since": "2026-12-06T12:00:00Z", "until": "2026-12-06T12:00:00Z"}, headers=ADMIN
    )
    assert same.status_code == 200 and same.json()["events"] == []


def test_a_failed_sign_in_of_no_account_records_unknown_account_not_the_typed_text(trail):
    client, _, _ = trail
    typed = "my-password-typed-in-the-wrong-field"
    assert client.post("/api/v1/auth/token", data={"username": typed, "password": "x" * 12}).status_code == 401
    assert [(row.who, row.action, row.target) for row in rows(client)] == [
        ("unknown account", "login.failed", "unknown account")
    ]
    stored = json.dumps([[row.who, row.target, row.detail] for row in rows(client)])
    assert typed not in stored


def test_sign_ins_refused_by_the_limit_are_recorded_too(client_for, fresh_dir, tmp_path):
    client = client_for(
        model_dir=fresh_dir,
        database_url=f"sqlite:///{tmp_path / 'audit.sqlite3'}",
        jwt_secret=JWT_SECRET,
        rate_limit_login="2/minute",
    )
    add_user(client.app, "ada@example.com", "admin")
    tries = [
        ("ada@example.com", "wrong password!"),
        ("ADA@example.com", "wrong password!"),
        ("ada@example.com", PASSWORD),
    ]
    statuses = [
        client.post("/api/v1/auth/token", data={"username": user, "password": password}).status_code
        for user, password in tries
    ]
    assert statuses == [401, 401, 429]
    from_another = client.post("/api/v1/auth/token", data={"username": "who@example.com", "password": "x" * 12})
    assert from_another.status_code == 429  # the address's allowance is spent too
    recorded = [(row.who, row.action, (row.detail or {}).get("throttled")) for row in rows(client)]
    assert recorded == [
        ("ada@example.com", "login.failed", None),
        ("ada@example.com", "login.failed", None),
        ("ada@example.com", "login.failed", True),
        ("unknown account", "login.failed", True),
    ]


@pytest.mark.parametrize("field", ["action", "who", "target"])
def test_a_filter_holding_a_nul_is_a_422_as_no_stored_text_can_hold_one(trail, field):
    client, _, _ = trail
    response = client.get("/api/v1/audit", params={field: "a\x00b"}, headers=ADMIN)
    assert response.status_code == 422  # PostgreSQL refuses a NUL in a query: it was a 500 there
    assert "U+0000" in response.json()["message"]
