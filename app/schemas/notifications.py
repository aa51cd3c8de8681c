"""Requests and responses of the notification API: subscriptions and their delivery log."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import example_config


class SubscriptionRequest(BaseModel):
    """A webhook URL or an email address, and the events it wants."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"url": "https://example.com/hooks/segments", "events": ["version.activated"]}]
        },
    )

    url: str | None = Field(None, max_length=2048, description="The webhook's http(s) URL (or give `email`).")
    email: str | None = Field(None, max_length=320, description="An address to email the events to (needs SMTP_URL).")
    events: list[str] = Field(
        ..., max_length=20, description="job.succeeded, job.failed, version.activated, drift.changed, run.finished, ..."
    )


class Subscription(BaseModel):
    """A subscription (its secret is shown only when it is created)."""

    id: int = Field(description="The subscription's id, in its routes.")
    kind: Literal["webhook", "email"] = Field(description="How events are sent: a signed POST, or an email.")
    url: str | None = Field(description="A webhook's URL; null for an email subscription.")
    email: str | None = Field(description="An email subscription's address; null for a webhook.")
    events: list[str] = Field(description="The event types it receives.")
    created_at: datetime = Field(description="When it was created (UTC).")


class CreatedSubscription(Subscription):
    """A new subscription, with its signing secret (webhooks): shown this once."""

    model_config = example_config(
        {
            "id": 1,
            "kind": "webhook",
            "url": "https://example.com/hooks/segments",
            "email": None,
            "events": ["version.activated"],
            "created_at": "2026-12-06T07:00:00+00:00",
            "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        }
    )

    secret: str | None = Field(
        None, description="whsec_<base64>: verify webhook-signature with it (Standard Webhooks)."
    )


_SUBSCRIPTION_EXAMPLE = {
    "id": 1,
    "kind": "webhook",
    "url": "https://example.com/hooks/segments",
    "email": None,
    "events": ["version.activated", "job.failed"],
    "created_at": "2026-12-06T07:00:00+00:00",
}


class SubscriptionList(BaseModel):
    """Every subscription."""

    model_config = example_config({"subscriptions": [_SUBSCRIPTION_EXAMPLE]})

    subscriptions: list[Subscription] = Field(description="Every subscription; never a webhook's secret.")


class Delivery(BaseModel):
    """One event owed to a subscription, and how sending it went."""

    id: int = Field(description="The delivery's id.")
    event: str = Field(description="The event type.")
    message_id: str = Field(..., description="The webhook-id header: the same on every retry.")
    status: Literal["pending", "sending", "delivered", "failed"] = Field(
        description="`pending`: waiting for a first try or a retry; `sending`: being sent; `delivered`; `failed`: "
        "given up, after WEBHOOK_MAX_ATTEMPTS or refused for good."
    )
    attempts: int = Field(description="Attempts so far.")
    last_error: str | None = Field(description="Why the last attempt failed; null when none did.")
    response_status: int | None = Field(description="The receiver's last HTTP status (webhooks); null when none.")
    next_attempt_at: datetime | None = Field(description="When it is tried next (UTC); null when it is done.")
    created_at: datetime = Field(description="When the event was owed (UTC).")
    delivered_at: datetime | None = Field(description="When it was delivered (UTC); null until then.")


class DeliveryList(BaseModel):
    """A subscription's newest deliveries (at most 50)."""

    model_config = example_config(
        {
            "deliveries": [
                {
                    "id": 7,
                    "event": "version.activated",
                    "message_id": "msg_5b0c3f2a9d8e4f7a8b1c2d3e4f5a6b7c",
                    "status": "pending",
                    "attempts": 2,
                    "last_error": "the receiver answered HTTP 503",
                    "response_status": 503,
                    "next_attempt_at": "2026-12-06T07:01:20+00:00",
                    "created_at": "2026-12-06T07:00:00+00:00",
                    "delivered_at": None,
                }
            ]
        }
    )

    deliveries: list[Delivery] = Field(description="The newest deliveries, at most 50.")


class QueuedTestEvent(BaseModel):
    """A test event is in the outbox for this subscription."""

    model_config = example_config({"event": "webhook.test", "event_id": 12})

    event: str = Field(description="Always `webhook.test`.")
    event_id: int | None = Field(description="The event's id in the outbox; null when it was already there.")
