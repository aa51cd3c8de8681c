"""Sending one delivery: a signed webhook POST (httpx) or an email (smtplib)."""

import json
import smtplib
import ssl
import time
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from app.core.config import SMTP_SCHEMES
from app.services.notifications.addresses import RefusedAddress, resolve_for_sending
from app.services.notifications.signing import signature

# Seconds a receiver or SMTP server has to answer.
SEND_TIMEOUT = 10.0
USER_AGENT = "customer-segmentation-webhooks/1"


class DeliveryFailed(Exception):
    """The receiver did not take the delivery; `status` is its HTTP status when it answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def webhook_body(*, event: str, payload: dict[str, Any], created_at: datetime) -> bytes:
    """The JSON body the spec recommends: the event type, when it happened, and its data."""
    body = {"type": event, "timestamp": created_at.isoformat(), "data": payload}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def send_webhook(
    *, url: str, secret: str, message_id: str, body: bytes, allow_private: bool, timeout: float = SEND_TIMEOUT
) -> int:
    """POST `body` signed to `url` at the address its host resolves to now; the HTTP status, or DeliveryFailed."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    address = resolve_for_sending(host, port, allow_private=allow_private)
    # Connect to the address just checked, naming the host in Host and in TLS (SNI and certificate check).
    pinned = parts._replace(netloc=f"[{address}]:{port}" if ":" in address else f"{address}:{port}").geturl()
    timestamp = int(time.time())
    headers = {
        "host": parts.netloc,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret=secret, message_id=message_id, timestamp=timestamp, body=body),
    }
    # No redirects (one could lead inside the network) and no proxy settings from the environment.
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        extensions = {"sni_hostname": host} if https else {}
        response = client.post(pinned, content=body, headers=headers, extensions=extensions)
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"the receiver answered HTTP {response.status_code}", status=response.status_code)
    return response.status_code


def send_email(*, smtp_url: str, message: EmailMessage, timeout: float = SEND_TIMEOUT) -> None:
    """Send `message` through the SMTP server of `smtp_url` (smtp://, smtp+starttls:// or ?starttls=true, smtps://)."""
    parts = urlsplit(smtp_url)
    scheme = parts.scheme.lower()
    if scheme not in SMTP_SCHEMES or not parts.hostname:
        raise DeliveryFailed("SMTP_URL must be smtp://, smtp+starttls:// or smtps:// with a host")
    starttls = scheme == "smtp+starttls" or parse_qs(parts.query).get("starttls", ["false"])[0].lower() == "true"
    context = ssl.create_default_context()
    if scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(parts.hostname, parts.port or 465, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(parts.hostname, parts.port or (587 if starttls else 25), timeout=timeout)
    with client:
        if starttls:
            client.starttls(context=context)
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        # smtplib sends a non-ASCII address only with the server's SMTPUTF8; without it every attempt would fail.
        client.ehlo_or_helo_if_needed()
        addresses = f"{message['From']}{message['To']}"
        if not addresses.isascii() and not client.has_extn("smtputf8"):
            raise RefusedAddress(f"the mail server does not offer SMTPUTF8, which {message['To']} needs; not sent")
        client.send_message(message)
