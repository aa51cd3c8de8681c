"""Accounts on SQLite and PostgreSQL: users, sessions and keys round-trip, and disabling a user stops all of them."""

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import inspect, text

from app.core.account_errors import AccountConflict
from app.core.roles import Role
from app.db.migrate import alembic_config, upgrade_database
from app.db.session import create_db_engine, session_factory
from app.services.accounts import keys, sessions, users
from app.services.accounts.login import authenticate


@pytest.fixture
def db(database_url):
    upgrade_database(database_url)
    engine = create_db_engine(database_url)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


def test_users_sessions_and_keys_round_trip(db):
    created = users.create_user(session=db, email="Ada@Example.com", password="a long password", role=Role.admin)
    assert created.email == "ada@example.com" and created.created_at.tzinfo is not None
    with pytest.raises(AccountConflict):
        users.create_user(session=db, email="ada@example.com", password="a long password", role=Role.viewer)
    user = authenticate(session=db, email="ADA@example.com", password="a long password")
    assert user.last_login_at is None  # noted by the caller once the session or token exists
    users.record_login(session=db, user_id=user.id)
    db.refresh(user)
    assert user.last_login_at is not None and user.last_login_at <= datetime.now(UTC)
    token = sessions.start_session(session=db, user=user, ttl_seconds=60)
    assert sessions.session_principal(session=db, token=token).role == Role.admin
    admin = sessions.session_principal(session=db, token=token)
    secret, view = keys.create_key(session=db, creator=admin, name="export", role=Role.analyst)
    assert view.role == "analyst"
    principal = keys.key_principal(session=db, secret=secret)
    assert principal.role == Role.analyst and principal.name == "ada@example.com:export"
    # Another admin first: the last active one can be neither demoted nor disabled.
    users.create_user(session=db, email="bob@example.com", password="a long password", role=Role.admin)
    users.change_user(session=db, user_id=user.id, role=Role.viewer)
    assert keys.key_principal(session=db, secret=secret).role == Role.viewer  # never above its owner
    users.change_user(session=db, user_id=user.id, disabled=True)
    assert sessions.session_principal(session=db, token=token) is None
    assert keys.key_principal(session=db, secret=secret) is None


def test_0011_gives_every_user_credentials_version_0_and_goes_back(database_url):
    upgrade_database(database_url, "0010")
    engine = create_db_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (email, display_name, role, password_hash, created_at, disabled) "
                    "VALUES ('old@example.com', 'old', 'viewer', '-', CURRENT_TIMESTAMP, false)"
                )
            )
        assert upgrade_database(database_url, "0011") == "0011"
        with engine.connect() as connection:
            assert connection.execute(text("SELECT credentials_version FROM users")).scalar_one() == 0
        command.downgrade(alembic_config(database_url), "0010")
        engine.dispose()
        columns = {column["name"] for column in inspect(engine).get_columns("users")}
        assert "credentials_version" not in columns
        with engine.connect() as connection:
            assert connection.execute(text("SELECT email FROM users")).scalar_one() == "old@example.com"
    finally:
        engine.dispose()
