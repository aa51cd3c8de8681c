"""Passwords change: the user's own with the current one first, anyone's by an admin; sessions end with the old one."""

import pytest

from app.core.account_errors import UnknownAccount, WrongPassword
from app.core.errors import InvalidRequest
from app.core.roles import Role
from app.services.accounts import passwords, sessions, users
from app.services.accounts.login import authenticate

PASSWORD = "a long password"
NEW = "another long password"


@pytest.fixture
def ada(db):
    view = users.create_user(session=db, email="ada@example.com", password=PASSWORD, role=Role.analyst)
    return db.get(users.User, view.id)


def test_change_own_password_keeps_this_session_and_ends_the_others(db, ada):
    here = sessions.start_session(session=db, user=ada, ttl_seconds=60)
    elsewhere = sessions.start_session(session=db, user=ada, ttl_seconds=60)
    passwords.change_own_password(session=db, user_id=ada.id, current=PASSWORD, new=NEW, keep_session=here)
    assert authenticate(session=db, email="ada@example.com", password=NEW).id == ada.id
    assert sessions.session_principal(session=db, token=here) is not None
    assert sessions.session_principal(session=db, token=elsewhere) is None


def test_change_own_password_refuses_a_wrong_current_one_and_changes_nothing(db, ada):
    with pytest.raises(WrongPassword):
        passwords.change_own_password(session=db, user_id=ada.id, current="not the password", new=NEW)
    assert authenticate(session=db, email="ada@example.com", password=PASSWORD).id == ada.id


def test_change_own_password_keeps_the_rules_of_a_new_account(db, ada):
    with pytest.raises(InvalidRequest, match="at least 10"):
        passwords.change_own_password(session=db, user_id=ada.id, current=PASSWORD, new="short")


def test_set_password_ends_every_session_of_the_user(db, ada):
    token = sessions.start_session(session=db, user=ada, ttl_seconds=60)
    passwords.set_password(session=db, user_id=ada.id, password=NEW)
    assert sessions.session_principal(session=db, token=token) is None
    assert authenticate(session=db, email="ada@example.com", password=NEW).id == ada.id


def test_set_password_by_email_finds_the_user_in_any_case_and_refuses_an_unknown_one(db, ada):
    assert passwords.set_password_by_email(session=db, email="ADA@example.com", password=NEW).id == ada.id
    with pytest.raises(UnknownAccount, match="users list"):
        passwords.set_password_by_email(session=db, email="who@example.com", password=NEW)
