"""Personal API keys: shown once, stored as SHA-256, named, with a role at most their creator's, revocable."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.core.account_errors import UnknownAccount
from app.core.credentials import PERSONAL_KEY_PREFIX, new_secret, secret_hash
from app.core.errors import AccessDenied, InvalidRequest
from app.core.roles import Principal, Role, may_grant
from app.db.tables import PersonalKey, User

# How stale a key's last use may be shown: every request writing it would make each read a database write.
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class KeyView:
    """What may be shown of a key: never the key (nor its hash)."""

    id: int
    name: str
    role: str
    owner: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool


def _view(key: PersonalKey, owner: str) -> KeyView:
    return KeyView(
        id=key.id,
        name=key.name,
        role=key.role,
        owner=owner,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked=key.revoked,
    )


def create_key(*, session: Session, creator: Principal, name: str, role: Role) -> tuple[str, KeyView]:
    """A new key for a signed-in user: the key itself (shown once) and its view."""
    if creator.user_id is None:
        raise AccessDenied("personal keys belong to users: sign in (a session or a token) to create one")
    if not may_grant(creator.role, role):
        raise AccessDenied(f"a key cannot have a role above its creator's: {creator.name} is {creator.role.name}")
    name = name.strip()  # the name shows in `email:name` wherever the key acts: spaces alone would show nothing
    if not name or len(name) > 100:
        raise InvalidRequest("name: give the key a name of 1 to 100 characters, not only spaces")
    secret = new_secret(PERSONAL_KEY_PREFIX)
    key = PersonalKey(
        key_hash=secret_hash(secret),
        user_id=creator.user_id,
        name=name,
        role=role.name,
        created_at=datetime.now(UTC),
        revoked=False,
    )
    session.add(key)
    session.commit()
    return secret, _view(key, creator.name)


def list_keys(*, session: Session, viewer: Principal) -> list[KeyView]:
    """The caller's keys; an admin sees everyone's."""
    query = select(PersonalKey, User.email).join(User, User.id == PersonalKey.user_id).order_by(PersonalKey.id)
    if viewer.role < Role.admin:
        query = query.where(PersonalKey.user_id == viewer.user_id)
    return [_view(key, email) for key, email in session.execute(query)]


def revoke_key(*, session: Session, viewer: Principal, key_id: int) -> bool:
    """Revoke a key: the caller's own, or anyone's for an admin (404 for another user's key otherwise).

    Returns whether this call revoked it: False for a key revoked already, which stays as it was.
    """
    row = session.execute(select(PersonalKey.user_id).where(PersonalKey.id == key_id)).first()
    if row is None or (viewer.role < Role.admin and row[0] != viewer.user_id):
        raise UnknownAccount(f"there is no key with the id {key_id} among yours: see GET /api/v1/auth/keys")
    # A conditional update: of two revocations at once, only the one that changed the row says so.
    changed = session.execute(
        update(PersonalKey).where(PersonalKey.id == key_id, PersonalKey.revoked.is_(False)).values(revoked=True)
    ).rowcount
    session.commit()
    return changed == 1


def key_principal(*, session: Session, secret: str, now: datetime | None = None) -> Principal | None:
    """Who a personal key speaks for, noting its use at most once a minute; None when unknown, revoked, or its owner
    is disabled. `now` is the clock (tests pass their own)."""
    row = session.execute(
        select(PersonalKey, User)
        .join(User, User.id == PersonalKey.user_id)
        .where(PersonalKey.key_hash == secret_hash(secret))
    ).first()
    if row is None or row[0].revoked or row[1].disabled:
        return None
    key, user = row
    now = now or datetime.now(UTC)
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_EVERY:
        # Conditional, so several workers seeing the same stale time write it once.
        session.execute(
            update(PersonalKey)
            .where(
                PersonalKey.id == key.id,
                or_(PersonalKey.last_used_at.is_(None), PersonalKey.last_used_at <= now - LAST_USED_EVERY),
            )
            .values(last_used_at=now)
        )
        session.commit()
    # Never more than the owner holds now, whatever the key was given.
    role = min(Role[key.role], Role[user.role])
    return Principal(name=f"{user.email}:{key.name}", role=role, via="key", user_id=user.id)
