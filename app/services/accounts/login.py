"""Signing in with an email and a password: the same answer, and the same Argon2 work, for a wrong user or password."""

from sqlalchemy.orm import Session

from app.core.account_errors import LoginFailed
from app.core.credentials import verify_password
from app.core.roles import Principal, Role
from app.db.tables import User
from app.services.accounts.users import find_by_email

FAILED = "wrong email or password"
# Who a failed sign-in is recorded as when what was typed is no account's email (it may be a password).
UNKNOWN_ACCOUNT = "unknown account"


def authenticate(*, session: Session, email: str, password: str) -> User:
    """The user whose email and password these are; LoginFailed (one message) otherwise."""
    user = find_by_email(session=session, email=email)
    # An unknown email is verified against a dummy hash: the same work, so the time tells nothing.
    matches = verify_password(password, user.password_hash if user is not None else None)
    if user is None or not matches or user.disabled:
        raise LoginFailed(FAILED)
    return user


def account_named(*, session: Session, email: str) -> str:
    """The stored email of the account `email` names, or UNKNOWN_ACCOUNT: what a failed sign-in may record."""
    user = find_by_email(session=session, email=email)
    return user.email if user is not None else UNKNOWN_ACCOUNT


def token_principal(*, session: Session, user_id: int, scoped_role: Role, version: int) -> Principal | None:
    """Who a valid token's subject is now: None when gone, disabled, or changed since the token was issued (its
    credentials `version`); never above its current role or the token's."""
    user = session.get(User, user_id)
    if user is None or user.disabled or user.credentials_version != version:
        return None
    return Principal(name=user.email, role=min(Role[user.role], scoped_role), via="token", user_id=user.id)
