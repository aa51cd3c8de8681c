"""A personal key's last use is written at most once a minute (the clock is passed in, never waited for)."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from app.core.roles import Principal, Role
from app.db.tables import PersonalKey
from app.services.accounts import keys, users

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _key(db) -> tuple[str, int]:
    user = users.create_user(session=db, email="ann@example.com", password="a long password", role=Role.analyst)
    owner = Principal(name=user.email, role=Role.analyst, via="session", user_id=user.id)
    secret, view = keys.create_key(session=db, creator=owner, name="export", role=Role.analyst)
    return secret, view.id


def _last_used(db, key_id: int) -> datetime | None:
    db.expire_all()
    return db.get(PersonalKey, key_id).last_used_at


def _updates(db) -> list[str]:
    seen: list[str] = []

    @event.listens_for(db.get_bind(), "before_cursor_execute")
    def note(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE"):
            seen.append(statement)

    return seen


def test_last_used_is_written_at_most_once_a_minute(db):
    secret, key_id = _key(db)
    updates = _updates(db)
    assert keys.key_principal(session=db, secret=secret, now=T0).role == Role.analyst
    assert _last_used(db, key_id) == T0 and len(updates) == 1
    for seconds in (1, 30, 59):
        assert keys.key_principal(session=db, secret=secret, now=T0 + timedelta(seconds=seconds)) is not None
    # Within the minute: answered, but nothing written.
    assert _last_used(db, key_id) == T0 and len(updates) == 1
    later = T0 + timedelta(seconds=60)
    assert keys.key_principal(session=db, secret=secret, now=later) is not None
    assert _last_used(db, key_id) == later and len(updates) == 2


def test_a_revoked_key_is_refused_and_its_last_use_untouched(db):
    secret, key_id = _key(db)
    keys.key_principal(session=db, secret=secret, now=T0)
    keys.revoke_key(session=db, viewer=Principal("ann@example.com", Role.analyst, "session", 1), key_id=key_id)
    assert keys.key_principal(session=db, secret=secret, now=T0 + timedelta(hours=1)) is None
    assert _last_used(db, key_id) == T0
