"""Page sessions: a random token in the cookie, its SHA-256 in the database, so every session can be revoked."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from app.core.credentials import new_secret, secret_hash
from app.core.roles import Principal, Role
from app.db.tables import LoginSession, User


def start_session(*, session: Session, user: User, ttl_seconds: int) -> str:
    """A new session for `user`: the token for its cookie (only its hash is kept)."""
    token = new_secret()
    now = datetime.now(UTC)
    # Sessions that can no longer sign anyone in go as new ones start: the table holds live sessions, not history.
    session.execute(delete(LoginSession).where(or_(LoginSession.expires_at <= now, LoginSession.revoked)))
    session.add(
        LoginSession(
            token_hash=secret_hash(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
            revoked=False,
        )
    )
    session.commit()
    return token


def session_principal(*, session: Session, token: str) -> Principal | None:
    """Who holds this session token: None when unknown, revoked, expired, or its user is disabled."""
    row = session.execute(
        select(LoginSession, User)
        .join(User, User.id == LoginSession.user_id)
        .where(LoginSession.token_hash == secret_hash(token))
    ).first()
    if row is None:
        return None
    login, user = row
    if login.revoked or user.disabled or login.expires_at <= datetime.now(UTC):
        return None
    return Principal(name=user.email, role=Role[user.role], via="session", user_id=user.id)


def end_session(*, session: Session, token: str) -> None:
    """Revoke the session with this token (nothing when there is none)."""
    login = session.scalar(select(LoginSession).where(LoginSession.token_hash == secret_hash(token)))
    if login is not None:
        login.revoked = True
        session.commit()
