"""Users: create, list, disable, change role; passwords only ever stored as Argon2 hashes."""

import string
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.account_errors import AccountConflict, LastAdmin, UnknownAccount
from app.core.credentials import hash_password
from app.core.emails import email_problem
from app.core.errors import InvalidRequest
from app.core.roles import Role
from app.db.tables import LoginSession, PersonalKey, User
from app.schemas.accounts import MIN_PASSWORD_LENGTH
from app.utils.text import SPACES, one_line_problem

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


@dataclass(frozen=True, slots=True)
class UserView:
    """What may be shown of a user: everything but the password hash."""

    id: int
    email: str
    display_name: str
    role: str
    created_at: datetime
    last_login_at: datetime | None
    disabled: bool

    @classmethod
    def of(cls, user: User) -> "UserView":
        """The public view of a user row."""
        return cls(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            role=user.role,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
            disabled=user.disabled,
        )


def normal_email(email: str) -> str:
    """The stored form of a new email address (lower-cased); InvalidRequest when it is not one (app/core/emails.py)."""
    value = email.strip(" ")
    problem = email_problem(value)
    if problem is not None:
        raise InvalidRequest(f"email: {problem}")
    return value.translate(_ASCII_LOWER)


def password_problem(password: str) -> str | None:
    """Why a new password cannot be used (None when it can): too short, spaces at either end not counted."""
    # Ten spaces (or a short word padded with them) are long only to len(): they guard nothing.
    if len(password.strip(SPACES)) < MIN_PASSWORD_LENGTH:
        return f"use at least {MIN_PASSWORD_LENGTH} characters, not counting spaces at either end"
    return None


def check_password(password: str) -> None:
    """InvalidRequest when a new password is too short to be one, spaces at either end not counted."""
    problem = password_problem(password)
    if problem is not None:
        raise InvalidRequest(f"password: {problem}")


def new_user_problems(*, email: str, password: str, display_name: str = "") -> dict[str, str]:
    """Every problem of a new user's email, password and display name, by field name (empty when there is none)."""
    problems = {
        "email": email_problem(email.strip(" ")),
        "password": password_problem(password),
        "display_name": one_line_problem(display_name),
    }
    return {field: problem for field, problem in problems.items() if problem is not None}


def create_user(*, session: Session, email: str, password: str, role: Role, display_name: str = "") -> UserView:
    """Add a user (409 when the email is taken)."""
    address = normal_email(email)
    check_password(password)
    if problem := one_line_problem(display_name):
        raise InvalidRequest(f"display_name: {problem}")
    user = User(
        email=address,
        display_name=(display_name.strip() or address.split("@")[0])[:100],
        role=role.name,
        password_hash=hash_password(password),
        created_at=datetime.now(UTC),
        disabled=False,
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise AccountConflict(f"a user with the email {address} exists already") from None
    return UserView.of(user)


def list_users(*, session: Session) -> list[UserView]:
    """Every user, oldest first."""
    return [UserView.of(user) for user in session.scalars(select(User).order_by(User.id))]


def find_by_email(*, session: Session, email: str) -> User | None:
    """The user with this email, if any (any case)."""
    if "\x00" in email:  # no stored email holds a NUL, and PostgreSQL refuses to compare one (a DataError)
        return None
    return session.scalar(select(User).where(User.email == email.strip(" ").translate(_ASCII_LOWER)))


def get_user(session: Session, user_id: int) -> User:
    """The user with this id; UnknownAccount when there is none."""
    user = session.get(User, user_id)
    if user is None:
        raise UnknownAccount(f"there is no user with the id {user_id}: see GET /api/v1/users")
    return user


def change_user(*, session: Session, user_id: int, role: Role | None = None, disabled: bool | None = None) -> UserView:
    """Change a user's role or disable (or enable) it; disabling ends its sessions and revokes its keys at once."""
    user = get_user(session, user_id)
    stays_admin = (role is None or role >= Role.admin) and not disabled
    guarded = user.role == Role.admin.name and not user.disabled and not stays_admin
    if guarded:
        _lock_active_admins(session)
        _keep_an_admin(session, user)
    if (role is not None and role.name != user.role) or (disabled is not None and disabled != user.disabled):
        user.credentials_version += 1  # tokens issued before stop working, whichever way the change went
    if role is not None:
        user.role = role.name
        # A key never holds more than its owner: a lowered owner lowers its keys too.
        for key in session.scalars(select(PersonalKey).where(PersonalKey.user_id == user_id)):
            if Role[key.role] > role:
                key.role = role.name
    if disabled is not None:
        user.disabled = disabled
        if disabled:
            session.execute(update(LoginSession).where(LoginSession.user_id == user_id).values(revoked=True))
    if guarded:
        # Counted again after writing: SQLite ignores FOR UPDATE, but once flushed this transaction holds its write
        # lock, so another admin's demotion committed meanwhile is seen here, and the second of two never lands.
        session.flush()
        if not _active_admins(session):
            session.rollback()
            raise LastAdmin(_last_admin_message(user.email))
    session.commit()
    return UserView.of(user)


def _active_admins(session: Session, *, besides: int | None = None) -> int:
    query = select(func.count()).select_from(User).where(User.role == Role.admin.name, User.disabled.is_(False))
    return session.scalar(query if besides is None else query.where(User.id != besides)) or 0


def _lock_active_admins(session: Session) -> None:
    """Lock the active admins' rows until commit (PostgreSQL): two admins demoting each other count one at a time."""
    session.scalars(
        select(User.id).where(User.role == Role.admin.name, User.disabled.is_(False)).with_for_update()
    ).all()


def _last_admin_message(email: str) -> str:
    return f"{email} is the last active admin: make another user an admin first, then change or disable this one"


def _keep_an_admin(session: Session, user: User) -> None:
    """LastAdmin when `user` is the only active admin: demoting or disabling them would lock everyone out."""
    if not _active_admins(session, besides=user.id):
        raise LastAdmin(_last_admin_message(user.email))


def record_login(*, session: Session, user_id: int) -> None:
    """Note when a user last signed in (once their session or token exists)."""
    session.execute(update(User).where(User.id == user_id).values(last_login_at=datetime.now(UTC)))
    session.commit()
