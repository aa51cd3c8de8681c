"""Subscriptions: create (a webhook URL with its secret, or an email address), list, delete, read the delivery log."""

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from app.core.errors import InvalidRequest, UnknownSubscription
from app.db.tables import NotificationDelivery, NotificationEvent, NotificationSubscription
from app.services.notifications.addresses import check_webhook_url
from app.services.notifications.events import EVENT_TYPES, TEST_EVENT, emit
from app.services.notifications.signing import new_secret

# Enough to refuse what is plainly not an address; the SMTP server has the last word.
_EMAIL = re.compile(r"^[^@\s<>,;]{1,64}@[^@\s<>,;]{1,255}\.[^@\s<>,;.]+$")
DELIVERIES_SHOWN = 50


def _checked_events(events: list[str]) -> list[str]:
    unknown = [event for event in events if event not in EVENT_TYPES]
    if unknown:
        raise InvalidRequest(f"unknown event {unknown[0]!r} in `events`; known: {', '.join(EVENT_TYPES)}")
    if not events:
        raise InvalidRequest("`events` must name at least one event")
    return list(dict.fromkeys(events))


def _public(row: NotificationSubscription) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "url": row.target if row.kind == "webhook" else None,
        "email": row.target if row.kind == "email" else None,
        "events": row.events,
        "created_at": row.created_at,
    }


def create_subscription(
    *,
    sessions: sessionmaker[Session],
    events: list[str],
    url: str | None = None,
    email: str | None = None,
    allow_private: bool = False,
    smtp_configured: bool = True,
) -> dict[str, Any]:
    """Subscribe a webhook URL (answered with its signing secret, shown this once) or an email address."""
    if url is not None and email is not None:
        raise InvalidRequest("give either `url` (a webhook) or `email`, not both")
    if url is None and email is None:
        raise InvalidRequest("give `url` (a webhook) or `email`: the subscription has neither")
    chosen = _checked_events(events)
    if url is not None:
        kind, target, secret = "webhook", check_webhook_url(url, allow_private=allow_private), new_secret()
    else:
        if not _EMAIL.match(email or ""):
            raise InvalidRequest("`email` is not an email address")
        if not smtp_configured:
            raise InvalidRequest("set SMTP_URL before subscribing an email address")
        kind, target, secret = "email", email or "", None
    row = NotificationSubscription(created_at=datetime.now(UTC), kind=kind, target=target, events=chosen, secret=secret)
    with sessions.begin() as session:
        session.add(row)
    return {**_public(row), "secret": secret}


def list_subscriptions(*, sessions: sessionmaker[Session]) -> list[dict[str, Any]]:
    """Every subscription, oldest first, without secrets."""
    with sessions() as session:
        return [_public(row) for row in session.scalars(select(NotificationSubscription).order_by("id"))]


def _existing(session: Session, subscription_id: int) -> NotificationSubscription:
    row = session.get(NotificationSubscription, subscription_id)
    if row is None:
        raise UnknownSubscription(f"no subscription {subscription_id}")
    return row


def delete_subscription(*, sessions: sessionmaker[Session], subscription_id: int) -> None:
    """Remove a subscription and its deliveries (what was not sent yet is not sent)."""
    with sessions.begin() as session:
        _existing(session, subscription_id)
        session.execute(delete(NotificationDelivery).where(NotificationDelivery.subscription_id == subscription_id))
        session.execute(delete(NotificationSubscription).where(NotificationSubscription.id == subscription_id))


def deliveries(*, sessions: sessionmaker[Session], subscription_id: int) -> list[dict[str, Any]]:
    """A subscription's newest deliveries: event, status, attempts, last error, next attempt."""
    with sessions() as session:
        _existing(session, subscription_id)
        rows = session.execute(
            select(NotificationDelivery, NotificationEvent)
            .join(NotificationEvent, NotificationEvent.id == NotificationDelivery.event_id)
            .where(NotificationDelivery.subscription_id == subscription_id)
            .order_by(NotificationDelivery.id.desc())
            .limit(DELIVERIES_SHOWN)
        ).all()
    return [
        {
            "id": delivery.id,
            "event": event.type,
            "message_id": event.message_id,
            "status": delivery.status,
            "attempts": delivery.attempts,
            "last_error": delivery.last_error,
            "response_status": delivery.response_status,
            "next_attempt_at": delivery.next_attempt_at if delivery.status in ("pending", "sending") else None,
            "created_at": delivery.created_at,
            "delivered_at": delivery.delivered_at,
        }
        for delivery, event in rows
    ]


def send_test_event(*, sessions: sessionmaker[Session], subscription_id: int) -> dict[str, Any]:
    """Queue a `webhook.test` event for this subscription only; the drainer sends it like any other."""
    with sessions() as session:
        _existing(session, subscription_id)
    payload = {"summary": "a test event, sent from the webhooks page or API", "subscription_id": subscription_id}
    event_id = emit(sessions=sessions, event=TEST_EVENT, payload=payload, subscription_id=subscription_id)
    return {"event": TEST_EVENT, "event_id": event_id}
