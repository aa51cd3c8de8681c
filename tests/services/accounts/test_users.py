"""The last active admin stays one: neither demoted nor disabled, whoever asks."""

import pytest

from app.core.account_errors import LastAdmin
from app.core.roles import Role
from app.db.tables import User
from app.services.accounts import users

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
