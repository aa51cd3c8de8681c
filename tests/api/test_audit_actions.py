"""Every audited route: one row with who, action and target after it succeeded, none when it is refused."""

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.db.tables import AuditEvent
from tests.accounts import JWT_SECRET, PASSWORD, add_user, bearer
from tests.runs_files import customers_csv, score

SERVICE_KEY = "service-admin-key-audit-2"
ADMIN = {"X-API-Key": SERVICE_KEY}
WHO = "ada@example.com"
LOYALTY = {
    "name": "loyalty",
    "kind": "columns",
    "features": [
        {"name": "income", "column": "Income", "transform": "log1p"},
        {"name": "visits", "column": "Visits", "transform": "log1p"},
    ],
}


@dataclass
class World:
    client: object
    headers: dict[str, str]
    first: str
    second: str


@pytest.fixture
def world(client_for, two_versions, tmp_path):
    root, first, second = two_versions
    client = client_for(
        model_dir=root,
        database_url=f"sqlite:///{tmp_path / 'audit.sqlite3'}",
        jwt_secret=JWT_SECRET,
        admin_api_keys=[SERVICE_KEY],
        jobs_dir=tmp_path / "jobs",
        webhook_allow_private=True,
    )
    add_user(client.app, WHO, "admin")
    return World(client, bearer(client, WHO), first, second)


def audited(client) -> list[tuple[str, str, str]]:
    with client.app.state.db_sessions() as session:
        rows = session.scalars(select(AuditEvent).where(~AuditEvent.action.startswith("login.")).order_by("id"))
        return [(row.who, row.action, row.target) for row in rows]


def _segment_id(w: World) -> int:
    return w.client.get("/api/v1/clusters/info").json()["segments"][0]["segment_id"]


def _edit(w: World):
    return w.client.patch(f"/api/v1/clusters/{_segment_id(w)}", json={"name": "Top"}, headers=ADMIN)


def _user(w: World):
    return w.client.post(
        "/api/v1/users", json={"email": "new@example.com", "password": "a long password"}, headers=ADMIN
    )


def _webhook(w: World):
    return w.client.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/h", "events": ["job.failed"]}, headers=ADMIN
    )


def _challenger(w: World):
    return w.client.put("/api/v1/challenger", json={"version": w.second, "mode": "shadow"}, headers=ADMIN)


# (action, setup run with the service key first, the call: method, url from the setup's answer, body; target)
Case = tuple[str, Callable | None, str, Callable, dict | None, Callable]
CASES: list[Case] = [
    ("version.activate", None, "post", lambda w, s: f"/api/v1/models/{w.second}/activate", None, lambda w, s: w.second),
    ("version.delete", None, "delete", lambda w, s: f"/api/v1/models/{w.second}", None, lambda w, s: w.second),
    (
        "version.label",
        None,
        "patch",
        lambda w, s: f"/api/v1/models/{w.second}",
        {"label": "spring export"},
        lambda w, s: w.second,
    ),
    (
        "version.rollback",
        lambda w: w.client.post(f"/api/v1/models/{w.second}/activate", headers=ADMIN),
        "post",
        lambda w, s: "/api/v1/models/rollback",
        None,
        lambda w, s: w.first,
    ),
    ("challenger.set", None, "put", lambda w, s: "/api/v1/challenger", "challenger", lambda w, s: "default"),
    ("challenger.stop", _challenger, "delete", lambda w, s: "/api/v1/challenger", None, lambda w, s: "default"),
    (
        "challenger.promote",
        _challenger,
        "post",
        lambda w, s: "/api/v1/challenger/promote",
        None,
        lambda w, s: "default",
    ),
    (
        "outcomes.record",
        None,
        "post",
        lambda w, s: "/api/v1/outcomes",
        {"events": [{"customer_id": "C-1", "event": "purchase", "occurred_at": "2026-12-01T10:00:00Z"}]},
        lambda w, s: "default",
    ),
    (
        "segment.edit",
        None,
        "patch",
        lambda w, s: f"/api/v1/clusters/{_segment_id(w)}",
        {"name": "Best"},
        lambda w, s: str(_segment_id(w)),
    ),
    (
        "segment.revert",
        _edit,
        "post",
        lambda w, s: f"/api/v1/clusters/{_segment_id(w)}/history/{s.json()['entries'][0]['id']}/revert",
        None,
        lambda w, s: str(_segment_id(w)),
    ),
    (
        "user.create",
        None,
        "post",
        lambda w, s: "/api/v1/users",
        {"email": "New@Example.com", "password": "a long password"},
        lambda w, s: "new@example.com",
    ),
    (
        "user.update",
        _user,
        "patch",
        lambda w, s: f"/api/v1/users/{s.json()['id']}",
        {"role": "analyst"},
        lambda w, s: "new@example.com",
    ),
    (
        "user.password_set",
        _user,
        "put",
        lambda w, s: f"/api/v1/users/{s.json()['id']}/password",
        {"password": "a newer long password"},
        lambda w, s: "new@example.com",
    ),
    ("key.create", None, "post", lambda w, s: "/api/v1/auth/keys", {"name": "laptop"}, None),
    (
        "key.revoke",
        lambda w: w.client.post("/api/v1/auth/keys", json={"name": "old"}, headers=w.headers),
        "delete",
        lambda w, s: f"/api/v1/auth/keys/{s.json()['id']}",
        None,
        lambda w, s: str(s.json()["id"]),
    ),
    (
        "webhook.create",
        None,
        "post",
        lambda w, s: "/api/v1/webhooks",
        {"url": "http://127.0.0.1:9/h", "events": ["job.failed"]},
        None,
    ),
    (
        "webhook.delete",
        _webhook,
        "delete",
        lambda w, s: f"/api/v1/webhooks/{s.json()['id']}",
        None,
        lambda w, s: str(s.json()["id"]),
    ),
    ("segmentation.create", None, "post", lambda w, s: "/api/v1/segmentations", LOYALTY, lambda w, s: "loyalty"),
    (
        "segmentation.delete",
        lambda w: w.client.post("/api/v1/segmentations", json=LOYALTY, headers=ADMIN),
        "delete",
        lambda w, s: "/api/v1/segmentations/loyalty",
        None,
        lambda w, s: "loyalty",
    ),
    (
        "run.delete",
        lambda w: score(w.client, customers_csv(range(20)))[0],
        "delete",
        lambda w, s: f"/api/v1/runs/{s}",
        None,
        lambda w, s: s,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_each_action_records_one_row_after_success_and_none_when_refused(world, case):
    action, setup, method, url_of, body, target_of = case
    state = setup(world) if setup else None
    if setup is not None and hasattr(state, "status_code"):
        assert state.status_code < 300, state.text
    before = audited(world.client)
    url = url_of(world, state)
    body = {"version": world.second, "mode": "shadow"} if body == "challenger" else body
    send = getattr(world.client, method)
    kwargs = {"json": body} if body is not None else {}

    refused = send(url, **kwargs)
    assert refused.status_code == 401
    assert audited(world.client) == before

    response = send(url, headers=world.headers, **kwargs)
    assert response.status_code < 300, response.text
    target = target_of(world, state) if target_of else str(response.json()["id"])
    assert audited(world.client)[len(before) :] == [(WHO, action, target)]


def test_secrets_never_reach_the_trail(world):
    client = world.client
    user_password = "the new user's password 123"
    created = client.post("/api/v1/users", json={"email": "n@example.com", "password": user_password}, headers=ADMIN)
    assert created.status_code == 201, created.text
    key = client.post("/api/v1/auth/keys", json={"name": "k"}, headers=world.headers).json()["key"]
    secret = _webhook(world).json()["secret"]
    assert secret and key
    client.post("/api/v1/auth/token", data={"username": WHO, "password": "wrong password here"})
    with client.app.state.db_engine.connect() as connection:
        dump = json.dumps([list(map(str, row)) for row in connection.exec_driver_sql("SELECT * FROM audit_events")])
    assert {"user.create", "key.create", "webhook.create"} <= {action for _, action, _ in audited(client)}
    assert "login.failed" in dump
    for leaked in (user_password, key, secret, PASSWORD, SERVICE_KEY, "wrong password here", "$argon2"):
        assert leaked not in dump


def test_training_records_the_job(world):
    assert world.client.post("/api/v1/models", data={"k": "3"}).status_code == 401
    assert audited(world.client) == []
    response = world.client.post("/api/v1/models", data={"k": "3"}, headers=world.headers)
    assert response.status_code == 202, response.text
    assert audited(world.client) == [(WHO, "version.train", response.json()["job_id"])]
    with world.client.app.state.db_sessions() as session:
        detail = session.scalars(select(AuditEvent).where(AuditEvent.action == "version.train")).one().detail
    assert detail["features"] == "annual_income,spending_score"  # left out: the two the job trains on
