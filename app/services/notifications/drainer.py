"""The background thread that sends what the outbox holds, with retries, off every request's path."""

import logging
import smtplib
import threading
from dataclasses import dataclass

import httpx
from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings
from app.core.metrics import record_notification_attempt
from app.services.monitoring.retry import DatabasePreparation
from app.services.notifications.addresses import RefusedAddress
from app.services.notifications.messages import email_message
from app.services.notifications.outbox import (
    Claimed,
    attempts_spent,
    claim_due,
    record_failure,
    record_success,
    renew,
)
from app.services.notifications.sending import DeliveryFailed, send_email, send_webhook, webhook_body
from app.services.shutdown import WorkerThread

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendOptions:
    """How deliveries are sent and retried (from Settings)."""

    allow_private: bool = False
    max_attempts: int = 8
    backoff_seconds: float = 10.0
    smtp_url: str | None = None
    smtp_from: str = "segmentation@localhost"
    app_name: str = "Customer Segmentation"


def send(claimed: Claimed, options: SendOptions) -> int | None:
    """Send one claimed delivery; its HTTP status (webhooks), or an exception saying why it was not taken."""
    if claimed.kind == "webhook":
        body = webhook_body(event=claimed.event, payload=claimed.payload, created_at=claimed.created_at)
        return send_webhook(
            url=claimed.target,
            secret=claimed.secret or "",
            message_id=claimed.message_id,
            body=body,
            allow_private=options.allow_private,
        )
    if not options.smtp_url:
        raise RefusedAddress("SMTP_URL is not set; email not sent")
    message = email_message(
        app_name=options.app_name,
        sender=options.smtp_from,
        recipient=claimed.target,
        event=claimed.event,
        payload=claimed.payload,
        message_id=claimed.message_id,
    )
    send_email(smtp_url=options.smtp_url, message=message)
    return None


def _failed(
    sessions: sessionmaker[Session],
    claimed: Claimed,
    options: SendOptions,
    *,
    error: str,
    status: int | None = None,
    final: bool = False,
    unexpected: bool = False,
) -> None:
    """Record a failed attempt (tried again later, or the last one), then count and log it (a warning when last)."""
    record_failure(
        sessions,
        claimed,
        error=error,
        status=status,
        max_attempts=options.max_attempts,
        backoff_base=options.backoff_seconds,
        final=final,
    )
    spent = attempts_spent(claimed, max_attempts=options.max_attempts, final=final)
    record_notification_attempt(channel=claimed.kind, outcome="gave_up" if spent else "failed")
    # The delivery's id, never its address: GET /api/v1/webhooks/{id}/deliveries shows the rest to an admin.
    logger.log(
        logging.WARNING if spent or unexpected else logging.INFO,
        "notification %s (%s delivery %d) attempt %d failed%s: %s",
        claimed.event,
        claimed.kind,
        claimed.delivery_id,
        claimed.attempts,
        "; no attempt is left" if spent else ", to be tried again",
        error,
        exc_info=unexpected,
    )


def deliver(sessions: sessionmaker[Session], claimed: Claimed, options: SendOptions) -> bool:
    """Send one claimed delivery and record the outcome; True when it was delivered (False, unsent, when another
    drainer has claimed it since: its lease ended while the deliveries before it in the batch were sent)."""
    if not renew(sessions, claimed):
        logger.info("notification delivery %d was claimed again by another drainer; not sent here", claimed.delivery_id)
        return False
    try:
        status = send(claimed, options)
    except RefusedAddress as error:
        # Sending again would be refused again: failed at once.
        _failed(sessions, claimed, options, error=str(error), final=True)
        return False
    except (DeliveryFailed, httpx.HTTPError, OSError, smtplib.SMTPException) as error:
        message = str(error) or type(error).__name__
        _failed(sessions, claimed, options, error=message, status=getattr(error, "status", None))
        return False
    except Exception as error:
        # A bug or a setting that slipped past its check: left `sending`, this delivery would be claimed again at
        # every lease's end and the rest of its batch never sent. A failed attempt like any other, retried per policy.
        _failed(sessions, claimed, options, error=f"{type(error).__name__}: {error}", unexpected=True)
        return False
    record_success(sessions, claimed, status=status)
    record_notification_attempt(channel=claimed.kind, outcome="delivered")
    return True


def drain_once(sessions: sessionmaker[Session], options: SendOptions, *, limit: int = 20) -> int:
    """Claim what is due now and send it; the number of deliveries attempted."""
    claimed = claim_due(sessions, limit=limit)
    for item in claimed:
        deliver(sessions, item, options)
    return len(claimed)


class NotificationDrainer(WorkerThread):
    """Drains the outbox from one daemon thread: every poll, and at once after a pass that found work. Told to stop,
    it ends after the delivery it is sending; what is left stays in the outbox."""

    name = "notification drainer"
    thread_name = "notification-drainer"
    stop_seconds = 15.0

    def __init__(
        self,
        sessions: sessionmaker[Session],
        options: SendOptions,
        *,
        poll_seconds: float = 2.0,
        database: DatabasePreparation | None = None,
    ) -> None:
        self.sessions = sessions
        self.options = options
        self.poll_seconds = poll_seconds
        self._database = database
        self._stop = threading.Event()
        self._warned = False

    def _pass(self) -> int:
        if self._database is not None and not self._database.ensure():
            return 0
        try:
            attempted = drain_once(self.sessions, self.options)
        except Exception:  # the database is down or not migrated yet: try again at the next poll
            if not self._warned:
                logger.warning("the notification outbox could not be read; will retry", exc_info=True)
                self._warned = True
            return 0
        self._warned = False
        return attempted

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._pass() == 0:
                self._stop.wait(self.poll_seconds)


def start_notifications(
    *, settings: Settings, sessions: sessionmaker[Session], database: DatabasePreparation | None
) -> NotificationDrainer | None:
    """Start this process's outbox drainer (None when NOTIFICATIONS_ENABLED=false)."""
    if not settings.notifications_enabled:
        return None
    options = SendOptions(
        allow_private=settings.webhook_allow_private,
        max_attempts=settings.webhook_max_attempts,
        backoff_seconds=settings.webhook_backoff_seconds,
        smtp_url=settings.smtp_url.get_secret_value() if settings.smtp_url else None,
        smtp_from=settings.smtp_from,
        app_name=settings.app_name,
    )
    drainer = NotificationDrainer(sessions, options, poll_seconds=settings.notify_poll_seconds, database=database)
    drainer.start()
    return drainer
