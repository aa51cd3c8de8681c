"""The webhooks API: admins manage subscriptions, private URLs are refused, and a test event reaches the receiver."""

import time

import pytest
from standardwebhooks.webhooks import Webhook

from tests.services.notifications.receiver import running_receiver

KEY = "webhooks-admin-key"
ADMIN = {"X-API-Key": KEY}


@pytest.fixture
def api(client_for, tmp_path):
    """A client with an admin key, its own database, and a drainer that looks at the outbox often."""
    return client_for(
        admin_api_keys=[KEY], database_url=f"sqlite:///{tmp_path / 'hooks.sqlite3'}", notify_poll_seconds=0.05
    )


def test_webhooks_need_the_admin_key(api):
    assert api.get("/api/v1/webhooks").status_code == 401
    assert api.get("/api/v1/webhooks", headers={"X-API-Key": "wrong"}).status_code == 403
    response = api.post("/api/v1/webhooks", json={"url": "https://example.com/h", "events": ["job.failed"]})
    assert response.status_code == 401


def test_create_answers_the_secret_once_and_lists_without_it(api):
    body = {"url": "https://example.com/hooks", "events": ["version.activated", "job.failed"]}
    created = api.post("/api/v1/webhooks", json=body, headers=ADMIN)
    assert created.status_code == 201
    subscription = created.json()
    assert subscription["secret"].startswith("whsec_")
    assert (subscription["url"], subscription["events"], subscription["kind"]) == (
        body["url"],
        body["events"],
        "webhook",
    )

    listed = api.get("/api/v1/webhooks", headers=ADMIN)
    assert listed.status_code == 200
    [entry] = listed.json()["subscriptions"]
    assert entry["id"] == subscription["id"] and "secret" not in entry
    assert subscription["secret"] not in listed.text


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://localhost./hook",
        "http://foo.localhost/hook",  # RFC 6761: every *.localhost name is loopback
        "http://Shop.LOCALHOST:8080/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        # What the C resolver reads as IPv4 literals: 127.0.0.1 three ways, and 0.0.0.0.
        "http://127.1/hook",
        "http://2130706433/hook",
        "http://0x7f000001/hook",
        "http://0/hook",
        # IPv6 addresses a NAT64 gateway or a 6to4 relay turns into 169.254.169.254.
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:a9fe:a9fe::]/",
    ],
)
def test_private_urls_are_refused(api, url):
    response = api.post("/api/v1/webhooks", json={"url": url, "events": ["job.failed"]}, headers=ADMIN)
    assert response.status_code == 422
    assert "WEBHOOK_ALLOW_PRIVATE" in response.json()["message"]


def test_a_name_that_resolves_to_a_private_address_is_refused_at_creation(api, monkeypatch):
    # The audit's case: `vm` in /etc/hosts is 127.0.0.1; it was accepted, and only its sends were refused.
    resolve = _fake_resolver({"vm": "127.0.0.1", "ip6-localhost": "::1", "hooks.example.com": "93.184.215.14"})
    monkeypatch.setattr("app.services.notifications.addresses.socket.getaddrinfo", resolve)
    for url in ("http://vm:8899/", "http://ip6-localhost/hook"):
        response = api.post("/api/v1/webhooks", json={"url": url, "events": ["job.failed"]}, headers=ADMIN)
        assert response.status_code == 422, url
        assert "WEBHOOK_ALLOW_PRIVATE" in response.json()["message"]
    for url in ("https://hooks.example.com/h", "https://not-yet-in-dns.example.com/h"):  # public; not resolvable
        response = api.post("/api/v1/webhooks", json={"url": url, "events": ["job.failed"]}, headers=ADMIN)
        assert response.status_code == 201, url


def _fake_resolver(names: dict[str, str]):
    """socket.getaddrinfo answering only `names` (name -> address); any other name does not resolve."""
    import socket

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        address = names[host]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    return getaddrinfo


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"url": "ftp://example.com/h", "events": ["job.failed"]}, "url"),
        ({"url": "https://exa mple.com/h", "events": ["job.failed"]}, "url"),
        ({"url": "https://example.com/h\u0000", "events": ["job.failed"]}, "url"),
        ({"url": "https://exa$mple.com/h", "events": ["job.failed"]}, "url"),
        ({"url": "https://example.com/h", "events": ["job.exploded"]}, "job.exploded"),
        ({"url": "https://example.com/h", "events": []}, "events"),
        ({"url": "https://example.com/h", "email": "a@example.com", "events": ["job.failed"]}, "email"),
        ({"email": "a@example.com", "events": ["job.failed"]}, "SMTP_URL"),
        # It was accepted, and no delivery could ever reach it.
        ({"url": "https://example.com:0/h", "events": ["job.failed"]}, "invalid port: 0"),
        # It was told "give either `url` (a webhook) or `email`, not both".
        ({"events": ["job.failed"]}, "has neither"),
    ],
)
def test_bad_subscriptions_are_422_naming_the_field(api, body, names):
    response = api.post("/api/v1/webhooks", json=body, headers=ADMIN)
    assert response.status_code == 422
    assert names in response.json()["message"]


def test_unknown_subscription_is_404(api):
    assert api.delete("/api/v1/webhooks/999", headers=ADMIN).status_code == 404
    assert api.get("/api/v1/webhooks/999/deliveries", headers=ADMIN).status_code == 404
    assert api.post("/api/v1/webhooks/999/test", headers=ADMIN).status_code == 404


def wait_for_delivery(api, subscription_id: int) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = api.get(f"/api/v1/webhooks/{subscription_id}/deliveries", headers=ADMIN)
        assert response.status_code == 200, response.text
        log = response.json()["deliveries"]
        if log and log[0]["status"] == "delivered":
            return log[0]
        time.sleep(0.05)
    raise AssertionError(f"not delivered: {log}")


def test_a_test_event_reaches_the_receiver_signed(client_for, tmp_path):
    api = client_for(
        admin_api_keys=[KEY],
        database_url=f"sqlite:///{tmp_path / 'hooks.sqlite3'}",
        notify_poll_seconds=0.05,
        webhook_allow_private=True,
        rate_limit_admin="100000/minute",
    )
    with running_receiver() as receiver:
        created = api.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["job.failed"]}, headers=ADMIN)
        subscription = created.json()
        queued = api.post(f"/api/v1/webhooks/{subscription['id']}/test", headers=ADMIN)
        assert queued.status_code == 202 and queued.json()["event"] == "webhook.test"

        delivered = wait_for_delivery(api, subscription["id"])
        [request] = receiver.received()

    event = Webhook(subscription["secret"]).verify(request.body, request.headers)
    assert event["type"] == "webhook.test"
    assert request.headers["webhook-id"] == delivered["message_id"]

    assert api.delete(f"/api/v1/webhooks/{subscription['id']}", headers=ADMIN).status_code == 204
    assert api.get("/api/v1/webhooks", headers=ADMIN).json()["subscriptions"] == []


def test_a_body_that_is_not_json_is_refused_before_anything_is_stored(api):
    response = api.post("/api/v1/webhooks", content=b"url=x", headers={**ADMIN, "Content-Type": "text/plain"})
    assert response.status_code == 415
    response = api.post("/api/v1/webhooks", content=b"{not json", headers={**ADMIN, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert api.get("/api/v1/webhooks", headers=ADMIN).json()["subscriptions"] == []
