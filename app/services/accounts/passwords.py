"""Changing passwords: a user their own (the current one first), an admin anyone's; other sessions and earlier
tokens end at once."""

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.core.account_errors import UnknownAccount, WrongPassword
from app.core.credentials import hash_password, secret_hash, verify_password
from app.db.tables import LoginSession, User
from app.services.accounts.users import UserView, check_password, find_by_email, get_user


def _replace(session: Session, user: User, password: str, *, keep_session: str | None) -> UserView:
    """Store the new password's hash and end the user's sessions but `keep_session` (a cookie's token)."""
    check_password(password)
    user.password_hash = hash_password(password)
    user.credentials_version += 1  # bearer tokens issued before stop working
    ended = update(LoginSession).where(LoginSession.user_id == user.id)
    if keep_session is not None:
        ended = ended.where(LoginSession.token_hash != secret_hash(keep_session))
    session.execute(ended.values(revoked=True))
    session.commit()
    return UserView.of(user)


def change_own_password(
    *, session: Session, user_id: int, current: str, new: str, keep_session: str | None = None
) -> UserView:
    """A user's new password, once the current one is right; their other sessions end (WrongPassword otherwise)."""
    user = get_user(session, user_id)
    if not verify_password(current, user.password_hash):
        raise WrongPassword("the current password is not right: nothing was changed")
    return _replace(session, user, new, keep_session=keep_session)


def set_password(*, session: Session, user_id: int, password: str) -> UserView:
    """An admin's new password for a user (no current password asked); every session of theirs ends."""
    return _replace(session, get_user(session, user_id), password, keep_session=None)


def set_password_by_email(*, session: Session, email: str, password: str) -> UserView:
    """`set_password` for the user with this email (the command line names users by email)."""
    user = find_by_email(session=session, email=email)
    if user is None:
        raise UnknownAccount(f"there is no user with the email {email[:254]!r}: see `python -m app.cli users list`")
    return _replace(session, user, password, keep_session=None)
