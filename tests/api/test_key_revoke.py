"""Revoking a key: a 204 each time (idempotent), one audit row for the revocation that changed something."""

import pytest
from sqlalchemy import select

from app.db.tables import AuditEvent
from tests.accounts import JWT_SECRET, add_user, bearer


@pytest.fixture
def accounts(client_for, tmp_path):
    client = client_for(database_url=f"sqlite:///{tmp_path / 'revoke.sqlite3'}", jwt_secret=JWT_SECRET)
    add_user(client.app, "ada@example.com", "admin")
    return client


def _revocations(client) -> int:
    with client.app.state.db_sessions() as session:
        return len(session.scalars(select(AuditEvent).where(AuditEvent.action == "key.revoke")).all())


def test_revoking_a_key_twice_answers_204_and_audits_one_revocation(accounts):
    admin = bearer(accounts, "ada@example.com")
    key_id = accounts.post("/api/v1/auth/keys", json={"name": "nightly"}, headers=admin).json()["id"]

    first = accounts.delete(f"/api/v1/auth/keys/{key_id}", headers=admin)
    second = accounts.delete(f"/api/v1/auth/keys/{key_id}", headers=admin)

    assert (first.status_code, second.status_code) == (204, 204)
    assert _revocations(accounts) == 1
    assert [key["revoked"] for key in accounts.get("/api/v1/auth/keys", headers=admin).json()["keys"]] == [True]
    assert accounts.delete("/api/v1/auth/keys/999", headers=admin).status_code == 404
    assert _revocations(accounts) == 1
