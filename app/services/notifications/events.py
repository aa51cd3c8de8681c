"""The events there are, and `emit`: the one way to raise one (it writes the outbox; a background thread sends).

Call `emit(sessions=..., event=..., payload=...)` wherever something happened; it returns at once after one small
transaction, and delivery happens later from the drainer thread (app/services/notifications/drainer.py). Inside a
transaction of your own, `emit_on(connection, ...)` writes the event in it, so the event exists if and only if the
change does. Give `key` when several processes may see the same happening: an event key is inserted once.
"""

import logging
import uuid
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.session import create_db_engine, session_factory
from app.db.statements import insert_skipping_duplicates
from app.db.tables import NotificationDelivery, NotificationEvent, NotificationSubscription

logger = logging.getLogger(__name__)

JOB_SUCCEEDED = "job.succeeded"
JOB_FAILED = "job.failed"
VERSION_ACTIVATED = "version.activated"
DRIFT_CHANGED = "drift.changed"
RUN_FINISHED = "run.finished"
CHALLENGER_REPORT = "challenger.report"
PROPOSAL_CREATED = "proposal.created"
# What subscriptions may ask for.
EVENT_TYPES = (
    JOB_SUCCEEDED,
    JOB_FAILED,
    VERSION_ACTIVATED,
    DRIFT_CHANGED,
    RUN_FINISHED,
    CHALLENGER_REPORT,
    PROPOSAL_CREATED,
)
# Sent to one subscription by "send test event", whatever events it asked for.
TEST_EVENT = "webhook.test"

_EVENTS = NotificationEvent.__table__
_SUBSCRIPTIONS = NotificationSubscription.__table__
_DELIVERIES = NotificationDelivery.__table__


def _now() -> datetime:
    return datetime.now(UTC)


def emit_on(
    connection: Connection,
    *,
    event: str,
    payload: dict[str, Any],
    key: str | None = None,
    subscription_id: int | None = None,
) -> int | None:
    """Write `event` and one pending delivery per subscription that wants it, in `connection`'s transaction.

    Returns the event's id, or None when an event with this `key` was already written (by this or another process).
    With `subscription_id`, only that subscription gets it (the test event).
    """
    if event not in EVENT_TYPES and event != TEST_EVENT:
        raise ValueError(f"unknown event {event!r}")
    now = _now()
    message_id = f"msg_{uuid.uuid4().hex}"
    row = {
        "event_key": (key or message_id)[:200],
        "message_id": message_id,
        "type": event,
        "payload": payload,
        "created_at": now,
    }
    statement = insert_skipping_duplicates(connection.dialect, _EVENTS, key="event_key").returning(_EVENTS.c.id)
    event_id = connection.execute(statement, row).scalar_one_or_none()
    if event_id is None:
        return None
    query = select(_SUBSCRIPTIONS.c.id, _SUBSCRIPTIONS.c.events)
    if subscription_id is not None:
        query = query.where(_SUBSCRIPTIONS.c.id == subscription_id)
    # Few subscriptions, and JSON lists are matched differently by each database: filtered here.
    wanted = [
        sid for sid, events in connection.execute(query) if subscription_id is not None or event in (events or [])
    ]
    if wanted:
        connection.execute(
            insert(_DELIVERIES),
            [
                {
                    "event_id": event_id,
                    "subscription_id": sid,
                    "created_at": now,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                }
                for sid in wanted
            ],
        )
    return event_id


def emit(
    *,
    sessions: sessionmaker[Session],
    event: str,
    payload: dict[str, Any],
    key: str | None = None,
    subscription_id: int | None = None,
) -> int | None:
    """Write `event` to the outbox in a transaction of its own; it is sent later, off the caller's path."""
    with sessions.begin() as session:
        return emit_on(session.connection(), event=event, payload=payload, key=key, subscription_id=subscription_id)


@lru_cache(maxsize=8)
def sessions_for(url: str) -> sessionmaker[Session]:
    """Sessions of the database at `url`, one engine per URL for the process (for emitters without app state)."""
    return session_factory(create_db_engine(url))


def emit_quietly(*, url: str, event: str, payload: dict[str, Any], key: str | None = None) -> None:
    """`emit` to the database at `url`, logging rather than raising when it fails (for background threads)."""
    try:
        emit(sessions=sessions_for(url), event=event, payload=payload, key=key)
    except Exception:  # the event is lost, not the job's outcome: a notification never breaks what caused it
        logger.warning("notification %s not written to the outbox", event, exc_info=True)
