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

    id: int
    kind: Literal["webhook", "email"]
    url: str | None
    email: str | None
    events: list[str]
    created_at: datetime


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

    subscriptions: list[Subscription]


class Delivery(BaseModel):
    """One event owed to a subscription, and how sending it went."""

    id: int
    event: str
    message_id: str = Field(..., description="The webhook-id header: the same on every retry.")
    status: Literal["pending", "sending", "delivered", "failed"]
    attempts: int
    last_error: str | None
    response_status: int | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


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

    deliveries: list[Delivery]


class QueuedTestEvent(BaseModel):
    """A test event is in the outbox for this subscription."""

    model_config = example_config({"event": "webhook.test", "event_id": 12})

    event: str
    event_id: int | None
