"""Notification subscriptions (webhooks and email), their delivery log and a test event; admins only."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi import Path as PathParam
from sqlalchemy.orm import Session, sessionmaker

from app.controllers.admin_route import AdminKeyFirstRoute
from app.controllers.audit import audit
from app.controllers.deps import AdminKeyDep, SettingsDep
from app.schemas.common import error_responses
from app.schemas.notifications import (
    CreatedSubscription,
    DeliveryList,
    QueuedTestEvent,
    SubscriptionList,
    SubscriptionRequest,
)
from app.services.notifications import subscriptions

router = APIRouter(
    prefix="/webhooks",
    tags=["notifications"],
    route_class=AdminKeyFirstRoute,
    responses=error_responses(401, 403, 429),
)


def _sessions(request: Request) -> sessionmaker[Session]:
    return request.app.state.db_sessions


SessionsDep = Annotated[sessionmaker[Session], Depends(_sessions)]
SubscriptionId = Annotated[
    int, PathParam(ge=1, le=2**62, description="The subscription's `id`, from GET /api/v1/webhooks.")
]


@router.post(
    "",
    status_code=201,
    response_model=CreatedSubscription,
    summary="Subscribe a webhook or an email address",
    description="With `url`: a webhook, answered with its signing `secret` (whsec_..., shown this once); every "
    "delivery carries webhook-id, webhook-timestamp and webhook-signature (Standard Webhooks). URLs on loopback, "
    "private or link-local networks are refused unless WEBHOOK_ALLOW_PRIVATE=true. With `email`: the same events "
    "by email, through SMTP_URL.",
    responses=error_responses(400, 413, 415, 422),
)
def create(
    request: Request, body: SubscriptionRequest, key: AdminKeyDep, settings: SettingsDep, sessions: SessionsDep
) -> dict:
    """Create a subscription."""
    created = subscriptions.create_subscription(
        sessions=sessions,
        events=body.events,
        url=body.url,
        email=body.email,
        allow_private=settings.webhook_allow_private,
        smtp_configured=settings.smtp_url is not None,
    )
    # Kind and events only: a URL may carry a token of its own, and the signing secret never goes in.
    detail = {"kind": created["kind"], "events": ",".join(created["events"])}
    audit(request, who=key, action="webhook.create", target=str(created["id"]), detail=detail)
    return created


@router.get(
    "",
    response_model=SubscriptionList,
    summary="Notification subscriptions",
    description="Every webhook and email subscription, oldest first; webhook secrets are never listed.",
)
def list_all(key: AdminKeyDep, sessions: SessionsDep) -> dict:
    """Every subscription, without secrets."""
    return {"subscriptions": subscriptions.list_subscriptions(sessions=sessions)}


@router.delete(
    "/{subscription_id}",
    status_code=204,
    summary="Remove a subscription",
    description="Deletes the subscription and its deliveries: what it still had to send is not sent.",
    responses=error_responses(404, 422),
)
def remove(request: Request, subscription_id: SubscriptionId, key: AdminKeyDep, sessions: SessionsDep) -> Response:
    """Delete a subscription and what it still had to send."""
    subscriptions.delete_subscription(sessions=sessions, subscription_id=subscription_id)
    audit(request, who=key, action="webhook.delete", target=str(subscription_id))
    return Response(status_code=204)


@router.get(
    "/{subscription_id}/deliveries",
    response_model=DeliveryList,
    summary="A subscription's delivery log",
    description="The newest 50 deliveries: status (pending, sending, delivered, failed), attempts, last error.",
    responses=error_responses(404, 422),
)
def delivery_log(subscription_id: SubscriptionId, key: AdminKeyDep, sessions: SessionsDep) -> dict:
    """Recent deliveries, newest first."""
    return {"deliveries": subscriptions.deliveries(sessions=sessions, subscription_id=subscription_id)}


@router.post(
    "/{subscription_id}/test",
    status_code=202,
    response_model=QueuedTestEvent,
    summary="Send a test event",
    description="Queues a `webhook.test` event for this subscription only; follow it in the delivery log.",
    responses=error_responses(404, 422),
)
def send_test(subscription_id: SubscriptionId, key: AdminKeyDep, sessions: SessionsDep) -> dict:
    """Queue a test event."""
    return subscriptions.send_test_event(sessions=sessions, subscription_id=subscription_id)
