"""Webhook deliveries from the outbox: signed per Standard Webhooks, retried, sent once, refused inside the network."""

import json
import socket
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.services.notifications.drainer import SendOptions, deliver, drain_once
from app.services.notifications.events import JOB_SUCCEEDED, VERSION_ACTIVATED, emit
from app.services.notifications.outbox import claim_due
from app.services.notifications.signing import new_secret, signature
from app.services.notifications.subscriptions import create_subscription, deliveries
from tests.services.notifications.receiver import running_receiver


def subscribe(sessions, url: str, events=(VERSION_ACTIVATED,)) -> dict:
    return create_subscription(sessions=sessions, events=list(events), url=url, allow_private=True)


def test_signature_verifies_with_the_standard_webhooks_library():
    secret = new_secret()
    body = b'{"type":"version.activated","data":{"to_version":"v2"}}'
    now = int(time.time())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(now),
        "webhook-signature": signature(secret=secret, message_id="msg_1", timestamp=now, body=body),
    }

    assert secret.startswith("whsec_")
    assert Webhook(secret).verify(body, headers)["data"] == {"to_version": "v2"}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"v2", b"v3"), headers)


def test_receiver_down_three_times_gets_the_event_once_on_the_fourth(sessions, options):
    # A bound socket that does not listen: connecting to it is refused, as to a receiver that is down.
    down = socket.socket()
    down.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    down.bind(("127.0.0.1", 0))
    port = down.getsockname()[1]
    subscription = subscribe(sessions, f"http://127.0.0.1:{port}/hook")
    emit(sessions=sessions, event=VERSION_ACTIVATED, payload={"segmentation": "default", "to_version": "v2"})

    for _ in range(3):
        assert drain_once(sessions, options) == 1
    log = deliveries(sessions=sessions, subscription_id=subscription["id"])
    assert [(row["status"], row["attempts"]) for row in log] == [("pending", 3)]
    assert log[0]["last_error"]

    down.close()
    with running_receiver(port) as receiver:
        assert drain_once(sessions, options) == 1
        assert drain_once(sessions, options) == 0  # nothing is sent again
        received = receiver.received()

    assert len(received) == 1
    event = Webhook(subscription["secret"]).verify(received[0].body, received[0].headers)
    assert event["type"] == VERSION_ACTIVATED
    assert event["data"] == {"segmentation": "default", "to_version": "v2"}
    log = deliveries(sessions=sessions, subscription_id=subscription["id"])
    assert [(row["status"], row["attempts"], row["response_status"]) for row in log] == [("delivered", 4, 200)]
    assert received[0].headers["webhook-id"] == log[0]["message_id"]


def test_a_delivery_whose_lease_ended_before_its_turn_is_sent_once_by_whoever_claimed_it_next(
    sessions, receiver, options
):
    subscription = subscribe(sessions, receiver.url)
    for version in ("v2", "v3"):
        emit(sessions=sessions, event=VERSION_ACTIVATED, payload={"to_version": version})
    # One drainer's batch: its lease ends before its turn to send comes (the sends before it waited out a receiver's
    # timeout), and another worker's drainer claims the two deliveries again and sends them.
    late = claim_due(sessions, lease_seconds=0.0)
    assert len(late) == 2
    assert drain_once(sessions, options) == 2

    # The first drainer's turn comes at last: it no longer owns them, so it sends nothing.
    assert [deliver(sessions, item, options) for item in late] == [False, False]

    received = [json.loads(item.body)["data"]["to_version"] for item in receiver.received()]
    assert sorted(received) == ["v2", "v3"]
    log = deliveries(sessions=sessions, subscription_id=subscription["id"])
    assert [(row["status"], row["attempts"]) for row in log] == [("delivered", 2), ("delivered", 2)]


def test_delivery_is_failed_once_the_attempts_are_spent(sessions, receiver):
    receiver.status = 503
    subscription = subscribe(sessions, receiver.url)
    emit(sessions=sessions, event=VERSION_ACTIVATED, payload={"to_version": "v2"})
    options = SendOptions(allow_private=True, max_attempts=2, backoff_seconds=0.0)

    drain_once(sessions, options)
    drain_once(sessions, options)
    assert drain_once(sessions, options) == 0

    [row] = deliveries(sessions=sessions, subscription_id=subscription["id"])
    assert (row["status"], row["attempts"], row["response_status"]) == ("failed", 2, 503)
    assert "503" in row["last_error"]
    assert len(receiver.received()) == 2


def test_backoff_holds_the_next_attempt_back(sessions, receiver):
    receiver.status = 500
    subscribe(sessions, receiver.url)
    emit(sessions=sessions, event=VERSION_ACTIVATED, payload={})
    options = SendOptions(allow_private=True, max_attempts=5, backoff_seconds=3_600.0)

    assert drain_once(sessions, options) == 1
    # An hour's backoff (jittered to at least half of it): not due again now.
    assert drain_once(sessions, options) == 0
    assert len(receiver.received()) == 1


def test_only_subscribed_events_are_sent(sessions, receiver, options):
    subscribe(sessions, receiver.url, events=(JOB_SUCCEEDED,))
    emit(sessions=sessions, event=VERSION_ACTIVATED, payload={})
    emit(sessions=sessions, event=JOB_SUCCEEDED, payload={"job_id": "j1"})

    drain_once(sessions, options)

    assert [json.loads(item.body)["type"] for item in receiver.received()] == [JOB_SUCCEEDED]


def test_an_event_with_a_key_is_written_once(sessions, receiver, options):
    subscribe(sessions, receiver.url)
    first = emit(sessions=sessions, event=VERSION_ACTIVATED, payload={}, key="activation-1")
    again = emit(sessions=sessions, event=VERSION_ACTIVATED, payload={}, key="activation-1")

    drain_once(sessions, options)

    assert first is not None and again is None
    assert len(receiver.received()) == 1


def test_a_name_resolving_to_loopback_is_refused_at_send_time(sessions, receiver):
    # Subscribed while private addresses were allowed; the sender no longer allows them.
    subscription = subscribe(sessions, receiver.url.replace("127.0.0.1", "localhost"))
    emit(sessions=sessions, event=VERSION_ACTIVATED, payload={})

    drain_once(sessions, SendOptions(allow_private=False, max_attempts=5, backoff_seconds=0.0))

    [row] = deliveries(sessions=sessions, subscription_id=subscription["id"])
    assert row["status"] == "failed" and "non-public" in row["last_error"]
    assert receiver.received() == []


@pytest.mark.parametrize("host", ["[64:ff9b::a9fe:a9fe]", "[2002:a9fe:a9fe::]"])
def test_an_ipv6_form_of_a_private_ipv4_address_is_refused_at_send_time(sessions, host):
    subscription = subscribe(sessions, f"http://{host}/hook")
    emit(sessions=sessions, event=VERSION_ACTIVATED, payload={})

    drain_once(sessions, SendOptions(allow_private=False, max_attempts=5, backoff_seconds=0.0))

    [row] = deliveries(sessions=sessions, subscription_id=subscription["id"])
    assert row["status"] == "failed" and "non-public" in row["last_error"]
