"""The outbox's queue: claim due deliveries (one drainer each), and record how each attempt went.

A claim marks rows `sending` with a token and a lease, in one short transaction: PostgreSQL picks rows with
FOR UPDATE SKIP LOCKED, so drainers in several processes take different rows; SQLite has no row locks, so claims
are made under a file lock beside the database, one process at a time. Sending happens after the claim commits, so
no transaction waits on a receiver. A drainer that dies mid-send leaves its rows `sending` until the lease ends;
they are then due again (at least once: receivers tell a resend by its webhook-id). A batch is sent one delivery
after another, and a receiver that is down may hold each send for its whole timeout, so a drainer renews a
delivery's lease just before sending it (`renew`): one whose lease ended and that another drainer claimed meanwhile
is not sent a second time.
"""

import random
import uuid
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.db.tables import NotificationDelivery, NotificationEvent, NotificationSubscription
from app.utils.locking import exclusive_lock

# Seconds a claimed delivery stays with its drainer (longer than a send's timeout).
LEASE_SECONDS = 120.0
# The longest wait between two attempts.
MAX_BACKOFF_SECONDS = 3_600.0
ERROR_LENGTH = 500


@dataclass(frozen=True)
class Claimed:
    """A delivery this drainer owns until its lease ends, with what sending it needs."""

    delivery_id: int
    token: str
    attempts: int
    kind: str
    target: str
    secret: str | None
    event: str
    message_id: str
    payload: dict[str, Any]
    created_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


def claim_lock(sessions: sessionmaker[Session]) -> AbstractContextManager[None]:
    """SQLite: a file lock beside the database, held across processes while claiming; PostgreSQL: none needed."""
    bind = sessions.kw["bind"]
    url = make_url(str(bind.url))
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return nullcontext()
    return exclusive_lock(Path(f"{url.database}.notify.lock"))


def claim_due(
    sessions: sessionmaker[Session], *, limit: int = 20, lease_seconds: float = LEASE_SECONDS
) -> list[Claimed]:
    """Take up to `limit` due deliveries (pending and due, or claimed by a drainer whose lease ended)."""
    now = _now()
    token = uuid.uuid4().hex
    delivery = NotificationDelivery
    due = or_(
        and_(delivery.status == "pending", delivery.next_attempt_at <= now),
        and_(delivery.status == "sending", delivery.claimed_until < now),
    )
    with claim_lock(sessions), sessions.begin() as session:
        rows = session.execute(
            select(delivery, NotificationEvent, NotificationSubscription)
            .join(NotificationEvent, NotificationEvent.id == delivery.event_id)
            .join(NotificationSubscription, NotificationSubscription.id == delivery.subscription_id)
            .where(due)
            .order_by(delivery.next_attempt_at, delivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=delivery)
        ).all()
        claimed = []
        for row, event, subscription in rows:
            row.status, row.claim_token = "sending", token
            row.claimed_until = now + timedelta(seconds=lease_seconds)
            # Counted when taken: an attempt cut short by a crash still counts towards the limit.
            row.attempts += 1
            claimed.append(
                Claimed(
                    delivery_id=row.id,
                    token=token,
                    attempts=row.attempts,
                    kind=subscription.kind,
                    target=subscription.target,
                    secret=subscription.secret,
                    event=event.type,
                    message_id=event.message_id,
                    payload=event.payload,
                    created_at=event.created_at,
                )
            )
        return claimed


def backoff_seconds(attempts: int, *, base: float) -> float:
    """The wait after `attempts` failed attempts: base * 2**(attempts - 1), capped, times a jitter of 50-100%."""
    return min(MAX_BACKOFF_SECONDS, base * 2 ** (attempts - 1)) * random.uniform(0.5, 1.0)


def record_success(sessions: sessionmaker[Session], claimed: Claimed, *, status: int | None) -> bool:
    """Mark the delivery delivered; False when this drainer no longer owned it (its lease had ended)."""
    values = {"status": "delivered", "delivered_at": _now(), "response_status": status, "last_error": None}
    return _update_owned(sessions, claimed, values)


def attempts_spent(claimed: Claimed, *, max_attempts: int, final: bool = False) -> bool:
    """Whether a failed attempt ends the delivery: refused for good, or its last allowed attempt."""
    return final or claimed.attempts >= max_attempts


def record_failure(
    sessions: sessionmaker[Session],
    claimed: Claimed,
    *,
    error: str,
    status: int | None,
    max_attempts: int,
    backoff_base: float,
    final: bool = False,
) -> bool:
    """Schedule the next attempt after a backoff, or mark the delivery failed once the attempts are spent."""
    spent = attempts_spent(claimed, max_attempts=max_attempts, final=final)
    values: dict[str, Any] = {"last_error": error[:ERROR_LENGTH], "response_status": status}
    if spent:
        values["status"] = "failed"
    else:
        values["status"] = "pending"
        values["next_attempt_at"] = _now() + timedelta(seconds=backoff_seconds(claimed.attempts, base=backoff_base))
    return _update_owned(sessions, claimed, values)


def renew(sessions: sessionmaker[Session], claimed: Claimed, *, lease_seconds: float = LEASE_SECONDS) -> bool:
    """Start the delivery's lease again, now, before sending it; False when another drainer has claimed it since."""
    return _update_owned(sessions, claimed, {"claimed_until": _now() + timedelta(seconds=lease_seconds)})


def _update_owned(sessions: sessionmaker[Session], claimed: Claimed, values: dict[str, Any]) -> bool:
    """Update a delivery this drainer still holds (its claim's token, still sending); False when another holds it.
    The lease ends with the update unless `values` sets `claimed_until`."""
    with sessions.begin() as session:
        result = session.execute(
            update(NotificationDelivery)
            .where(
                NotificationDelivery.id == claimed.delivery_id,
                NotificationDelivery.claim_token == claimed.token,
                NotificationDelivery.status == "sending",
            )
            .values({"claimed_until": None, **values})
        )
        return result.rowcount == 1
