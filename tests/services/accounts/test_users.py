"""The last active admin stays one: neither demoted nor disabled, whoever asks."""

import contextlib
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.core.account_errors import LastAdmin, LoginFailed
from app.core.credentials import hash_password
from app.core.errors import InvalidRequest
from app.core.roles import Role
from app.db.migrate import upgrade_database
from app.db.session import create_db_engine, session_factory
from app.db.tables import User
from app.services.accounts import users
from app.services.accounts.login import authenticate

PASSWORD = "a long password"


def _add(db, email: str, role: Role) -> int:
    return users.create_user(session=db, email=email, password=PASSWORD, role=role).id


@pytest.mark.parametrize("change", [{"role": Role.analyst}, {"role": Role.viewer}, {"disabled": True}])
def test_the_last_active_admin_cannot_be_demoted_or_disabled(db, change):
    ada = _add(db, "ada@example.com", Role.admin)
    _add(db, "vic@example.com", Role.viewer)
    with pytest.raises(LastAdmin, match=r"ada@example\.com is the last active admin"):
        users.change_user(session=db, user_id=ada, **change)
    db.expire_all()
    kept = db.get(User, ada)
    assert kept.role == "admin" and not kept.disabled


def test_a_disabled_admin_does_not_count_as_the_other_admin(db):
    ada = _add(db, "ada@example.com", Role.admin)
    bob = _add(db, "bob@example.com", Role.admin)
    users.change_user(session=db, user_id=bob, disabled=True)
    with pytest.raises(LastAdmin):
        users.change_user(session=db, user_id=ada, disabled=True)


def test_with_another_active_admin_the_change_goes_through(db):
    ada = _add(db, "ada@example.com", Role.admin)
    _add(db, "bob@example.com", Role.admin)
    assert users.change_user(session=db, user_id=ada, role=Role.analyst).role == "analyst"
    # bob is now the last one.
    bob = db.query(User).filter_by(email="bob@example.com").one().id
    with pytest.raises(LastAdmin):
        users.change_user(session=db, user_id=bob, disabled=True)


def test_changes_that_keep_the_admin_are_allowed(db):
    ada = _add(db, "ada@example.com", Role.admin)
    assert users.change_user(session=db, user_id=ada, role=Role.admin, disabled=False).role == "admin"
    vic = _add(db, "vic@example.com", Role.viewer)
    assert users.change_user(session=db, user_id=vic, disabled=True).disabled


def _demote_both_at_once(url: str, monkeypatch) -> tuple[list[str], int]:
    """Two admins each demote the other at the same moment, each in its own session and thread: what each got, and
    how many active admins remain."""
    engine = create_db_engine(url)
    sessions = session_factory(engine)
    with sessions() as session:
        ada, bob = _add(session, "ada@example.com", Role.admin), _add(session, "bob@example.com", Role.admin)
    # Both have counted the other as an admin before either writes: the race a check-then-write loses.
    barrier = threading.Barrier(2)
    counted = users._keep_an_admin

    def keep_then_wait(session, user):
        counted(session, user)
        with contextlib.suppress(threading.BrokenBarrierError):
            # Where the rows are locked (PostgreSQL) the second waits for the first's commit, not here.
            barrier.wait(timeout=3)

    monkeypatch.setattr(users, "_keep_an_admin", keep_then_wait)
    outcomes: list[str] = []

    def demote(user_id: int) -> None:
        with sessions() as session:
            try:
                users.change_user(session=session, user_id=user_id, role=Role.analyst)
                outcomes.append("demoted")
            except LastAdmin:
                outcomes.append("last admin")

    threads = [threading.Thread(target=demote, args=(user_id,)) for user_id in (ada, bob)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with sessions() as session:
        remaining = session.query(User).filter_by(role="admin", disabled=False).count()
    engine.dispose()
    return sorted(outcomes), remaining


def test_two_admins_demoting_each_other_at_once_leave_one_admin_on_sqlite(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'race.sqlite3'}"
    upgrade_database(url)
    assert _demote_both_at_once(url, monkeypatch) == (["demoted", "last admin"], 1)


@pytest.mark.slow
def test_two_admins_demoting_each_other_at_once_leave_one_admin_on_postgresql(postgres, monkeypatch):
    url = postgres.create_database()
    upgrade_database(url)
    assert _demote_both_at_once(url, monkeypatch) == (["demoted", "last admin"], 1)


@pytest.mark.parametrize("email", ["x@example.com\nBcc:y", "a\u200b@example.com", "ADM\u0130N@example.com"])
def test_create_user_refuses_control_invisible_and_non_ascii_emails(db, email):
    with pytest.raises(InvalidRequest, match="email: "):
        _add(db, email, Role.admin)
    assert db.scalar(select(func.count()).select_from(User)) == 0


def test_a_stored_non_ascii_email_still_signs_in(db):
    # Made before the rule: such an account keeps working (an admin may disable it once it is seen).
    db.add(
        User(
            email="adm\u0130n@example.com",
            display_name="old",
            role="viewer",
            password_hash=hash_password(PASSWORD),
            created_at=datetime.now(UTC),
            disabled=False,
        )
    )
    db.commit()
    assert authenticate(session=db, email="adm\u0130n@example.com", password=PASSWORD).role == "viewer"


@pytest.mark.parametrize("password", [" " * 10, "\t" * 12, "  short  \n  ", " " * 5 + "abc" + " " * 5])
def test_a_blank_or_space_padded_short_password_is_refused(db, password):
    with pytest.raises(InvalidRequest, match="at least 10 characters, not counting spaces"):
        users.create_user(session=db, email="ada@example.com", password=password, role=Role.viewer)


def test_a_password_with_spaces_inside_or_around_ten_characters_is_kept(db):
    users.create_user(session=db, email="ada@example.com", password=" ten chars!", role=Role.viewer)
    assert authenticate(session=db, email="ada@example.com", password=" ten chars!").email == "ada@example.com"


@pytest.mark.slow
def test_an_email_holding_a_nul_names_no_account_on_postgresql(postgres):
    # No stored email holds one (creating a user refuses control characters), and PostgreSQL refuses to compare one:
    # a sign-in with it is a failed sign-in (401), never a database error (a 503 "not answering").
    url = postgres.create_database()
    upgrade_database(url)
    engine = create_db_engine(url)
    with session_factory(engine)() as session:
        _add(session, "ada@example.com", Role.admin)
        assert users.find_by_email(session=session, email="ada@example.com\x00") is None
        with pytest.raises(LoginFailed):
            authenticate(session=session, email="ada\x00@example.com", password=PASSWORD)
    engine.dispose()


@pytest.mark.parametrize("name", ["Ana\nBcc: admin", "\u202eanA", "Ana\t"])
def test_create_user_refuses_a_display_name_that_is_not_one_line_of_visible_text(db, name):
    # The page form and `users create --name` reach the service without the API's schema.
    with pytest.raises(InvalidRequest, match="display_name: must be one line of visible text"):
        users.create_user(session=db, email="ana@example.com", password=PASSWORD, role=Role.viewer,
                    display_name=name)  # fmt: skip
    assert db.scalar(select(func.count()).select_from(User)) == 0
