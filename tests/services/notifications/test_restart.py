"""A live server killed with an event in its outbox delivers it after a restart (slow: real server processes)."""

import socket
import time

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.live_server import live_server
from tests.services.notifications.receiver import running_receiver

KEY = "restart-admin-key"
ADMIN = {"X-API-Key": KEY}


def delivery_log(base: str, subscription_id: int) -> list[dict]:
    response = httpx.get(f"{base}/api/v1/webhooks/{subscription_id}/deliveries", headers=ADMIN, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["deliveries"]


def wait_until(predicate, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


@pytest.mark.slow
def test_an_event_in_the_outbox_of_a_killed_server_is_delivered_after_restart(model_dir, tmp_path):
    # The receiver is down at first: a bound socket that does not listen refuses connections.
    down = socket.socket()
    down.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    down.bind(("127.0.0.1", 0))
    port = down.getsockname()[1]
    env = {
        "MODEL_DIR": str(model_dir),
        "AUTO_TRAIN": "false",
        "ADMIN_API_KEYS": KEY,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'outbox.sqlite3'}",
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "WEBHOOK_MAX_ATTEMPTS": "50",
        # About a second or two between attempts: the server is killed in such a wait, not mid-send.
        "WEBHOOK_BACKOFF_SECONDS": "2",
        "NOTIFY_POLL_SECONDS": "0.1",
        # The test polls the delivery log; the admin limit is for people.
        "RATE_LIMIT_ADMIN": "100000/minute",
    }
    with live_server(env, tmp_path / "first.log") as first:
        created = httpx.post(
            f"{first.url}/api/v1/webhooks",
            json={"url": f"http://127.0.0.1:{port}/hook", "events": ["version.activated"]},
            headers=ADMIN,
            timeout=10,
        ).json()
        assert httpx.post(f"{first.url}/api/v1/webhooks/{created['id']}/test", headers=ADMIN).status_code == 202
        wait_until(
            lambda: [
                row
                for row in delivery_log(first.url, created["id"])
                if row["attempts"] >= 1 and row["status"] == "pending"
            ],
            "a first attempt failed and the next one waiting",
        )
        first.process.kill()
        first.process.wait()

    down.close()
    with running_receiver(port) as receiver, live_server(env, tmp_path / "second.log") as second:
        delivered = wait_until(
            lambda: [row for row in delivery_log(second.url, created["id"]) if row["status"] == "delivered"],
            "the delivery after the restart",
        )
        received = receiver.received()

    assert len(received) == 1
    event = Webhook(created["secret"]).verify(received[0].body, received[0].headers)
    assert event["type"] == "webhook.test"
    assert delivered[0]["attempts"] >= 2 and received[0].headers["webhook-id"] == delivered[0]["message_id"]
