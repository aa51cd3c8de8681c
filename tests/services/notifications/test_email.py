"""Email notifications: a real SMTP server (aiosmtpd) in the test receives the event, subject and checks included."""

import email
import email.policy
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from app.services.notifications.drainer import SendOptions, drain_once
from app.services.notifications.events import DRIFT_CHANGED, emit
from app.services.notifications.subscriptions import create_subscription, deliveries
from tests.live_server import free_port
from tests.tls import self_signed_certificate

DRIFT = {
    "segmentation": "default",
    "model_version": "v2",
    "previous_status": "ok",
    "status": "alert",
    "checks": [
        {"name": "annual_income", "status": "alert", "psi": 0.31},
        {"name": "spending_score", "status": "ok", "psi": 0.04},
    ],
}


class Inbox:
    """Keeps every message the SMTP server accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """An SMTP server on a local port."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_a_drift_event_arrives_by_email_with_its_subject_and_checks(sessions, smtp):
    inbox, port = smtp
    subscription = create_subscription(sessions=sessions, events=[DRIFT_CHANGED], email="analyst@example.com")
    emit(sessions=sessions, event=DRIFT_CHANGED, payload=DRIFT)
    options = SendOptions(smtp_url=f"smtp://127.0.0.1:{port}", smtp_from="segments@example.com", app_name="Segments")

    assert drain_once(sessions, options) == 1

    [(sender, recipients, content)] = inbox.messages
    assert (sender, recipients) == ("segments@example.com", ["analyst@example.com"])
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert message["Subject"] == "[Segments] drift.changed: default drift ok -> alert"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for check in ("name=annual_income, status=alert, psi=0.31", "name=spending_score, status=ok, psi=0.04"):
        assert check in text
        assert check in html
    assert "status: alert" in text
    [row] = deliveries(sessions=sessions, subscription_id=subscription["id"])
    assert row["status"] == "delivered"


NON_ASCII = "\u00e9v\u00e9@ex\u00e4mple.com"


def test_a_non_ascii_address_is_sent_with_smtputf8_when_the_server_offers_it(sessions, smtp):
    inbox, port = smtp  # aiosmtpd's controller offers SMTPUTF8
    subscription = create_subscription(sessions=sessions, events=[DRIFT_CHANGED], email=NON_ASCII)
    emit(sessions=sessions, event=DRIFT_CHANGED, payload=DRIFT)

    drain_once(sessions, SendOptions(smtp_url=f"smtp://127.0.0.1:{port}"))

    [(_, recipients, _)] = inbox.messages
    assert recipients == [NON_ASCII]
    assert [row["status"] for row in deliveries(sessions=sessions, subscription_id=subscription["id"])] == ["delivered"]


def test_a_non_ascii_address_fails_at_once_when_the_server_lacks_smtputf8(sessions):
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, enable_SMTPUTF8=False)
    controller.start()
    try:
        subscription = create_subscription(sessions=sessions, events=[DRIFT_CHANGED], email=NON_ASCII)
        emit(sessions=sessions, event=DRIFT_CHANGED, payload=DRIFT)
        drain_once(sessions, SendOptions(smtp_url=f"smtp://127.0.0.1:{port}", max_attempts=5, backoff_seconds=0.0))
    finally:
        controller.stop()

    # Sending again would be refused again: failed after one attempt, not retried WEBHOOK_MAX_ATTEMPTS times.
    [row] = deliveries(sessions=sessions, subscription_id=subscription["id"])
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert "does not offer SMTPUTF8" in row["last_error"] and NON_ASCII in row["last_error"]
    assert inbox.messages == []


def test_without_smtp_url_an_email_delivery_fails_with_the_reason(sessions):
    subscription = create_subscription(sessions=sessions, events=[DRIFT_CHANGED], email="analyst@example.com")
    emit(sessions=sessions, event=DRIFT_CHANGED, payload=DRIFT)

    drain_once(sessions, SendOptions(smtp_url=None))

    [row] = deliveries(sessions=sessions, subscription_id=subscription["id"])
    assert row["status"] == "failed" and "SMTP_URL" in row["last_error"]


def test_an_unreachable_smtp_server_is_retried(sessions):
    subscription = create_subscription(sessions=sessions, events=[DRIFT_CHANGED], email="analyst@example.com")
    emit(sessions=sessions, event=DRIFT_CHANGED, payload=DRIFT)

    drain_once(sessions, SendOptions(smtp_url=f"smtp://127.0.0.1:{free_port()}", backoff_seconds=0.0))

    [row] = deliveries(sessions=sessions, subscription_id=subscription["id"])
    assert (row["status"], row["attempts"]) == ("pending", 1)


def test_an_unexpected_error_fails_its_delivery_and_the_rest_of_the_batch_is_sent(sessions, smtp, receiver):
    inbox, port = smtp
    mail = create_subscription(sessions=sessions, events=[DRIFT_CHANGED], email="analyst@example.com")
    hook = create_subscription(sessions=sessions, events=[DRIFT_CHANGED], url=receiver.url, allow_private=True)
    emit(sessions=sessions, event=DRIFT_CHANGED, payload=DRIFT)
    # A From with a line break makes the email library raise ValueError (SMTP_FROM refuses one since).
    options = SendOptions(
        smtp_url=f"smtp://127.0.0.1:{port}",
        smtp_from="segments@example.com\nBcc: someone@example.com",
        allow_private=True,
        max_attempts=2,
        backoff_seconds=0.0,
    )

    assert drain_once(sessions, options) == 2
    [first] = deliveries(sessions=sessions, subscription_id=mail["id"])
    assert (first["status"], first["attempts"]) == ("pending", 1) and first["last_error"].startswith("ValueError")
    assert [row["status"] for row in deliveries(sessions=sessions, subscription_id=hook["id"])] == ["delivered"]
    assert len(receiver.received()) == 1

    assert drain_once(sessions, options) == 1
    [last] = deliveries(sessions=sessions, subscription_id=mail["id"])
    assert (last["status"], last["attempts"]) == ("failed", 2)
    assert inbox.messages == []


def test_starttls_and_login_when_the_url_asks_for_them(sessions, tmp_path, monkeypatch):
    certificate = self_signed_certificate(tmp_path)
    # The sender verifies the server like any other: here against the test's own certificate.
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.certfile))
    logins: list[tuple[bytes, bytes]] = []

    def authenticate(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")

    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=certificate.server_context(),
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        create_subscription(sessions=sessions, events=[DRIFT_CHANGED], email="analyst@example.com")
        emit(sessions=sessions, event=DRIFT_CHANGED, payload=DRIFT)
        options = SendOptions(smtp_url=f"smtp+starttls://mailer:s3cret@127.0.0.1:{port}")
        assert drain_once(sessions, options) == 1
    finally:
        controller.stop()

    assert logins == [(b"mailer", b"s3cret")]
    [(_, recipients, content)] = inbox.messages
    assert recipients == ["analyst@example.com"]
    assert b"drift.changed" in content
