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


class SubscriptionList(BaseModel):
    """Every subscription."""

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

    deliveries: list[Delivery]


class TestEventQueued(BaseModel):
    """A test event is in the outbox for this subscription."""

    event: str
    event_id: int | None
