"""What an event says in an email: a subject naming the event, plain text, and a small HTML part."""

from email.message import EmailMessage
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.core.config import PROJECT_ROOT

TEMPLATES = PROJECT_ROOT / "app" / "templates" / "email"


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))


def summary(event: str, payload: dict[str, Any]) -> str:
    """One line about the event, for the subject."""
    where = payload.get("segmentation") or "default"
    if event.startswith("job."):
        return f"training job {payload.get('job_id', '?')} of {where} {payload.get('state', event[4:])}"
    if event == "version.activated":
        return f"{where} now serves {payload.get('to_version', '?')}"
    if event == "drift.changed":
        return f"{where} drift {payload.get('previous_status', '?')} -> {payload.get('status', '?')}"
    if event == "run.finished":
        return f"run {payload.get('run_id', '?')} finished"
    return payload.get("summary") or event


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key}={item}" for key, item in value.items())
    return str(value)


def lines(payload: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The payload as (field, values) pairs: a list (like drift's checks) gives one value per item."""
    return [
        (name, [_value(item) for item in value] if isinstance(value, list) else [_value(value)])
        for name, value in payload.items()
    ]


def email_message(
    *, app_name: str, sender: str, recipient: str, event: str, payload: dict[str, Any], message_id: str
) -> EmailMessage:
    """The email of one event: plain text, with an HTML alternative rendered from templates/email."""
    subject = f"[{app_name}] {event}: {summary(event, payload)}"
    fields = lines(payload)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = recipient
    # The same id on every retry, so a mail system can tell a resend.
    message["X-Webhook-Id"] = message_id
    text = [subject, ""]
    for name, values in fields:
        if len(values) == 1:
            text.append(f"{name}: {values[0]}")
        else:
            text.append(f"{name}:")
            text.extend(f"  - {value}" for value in values)
    message.set_content("\n".join(text) + "\n")
    html = _templates().get_template("notification.html").render(subject=subject, event=event, fields=fields)
    message.add_alternative(html, subtype="html")
    return message
