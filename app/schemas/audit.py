"""The audit trail as the API answers it."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.schemas.common import example_config

_EVENT = {
    "id": 42,
    "at": "2026-12-06T07:30:00+00:00",
    "who": "ada@example.com",
    "action": "version.activate",
    "target": "20261206.071500.000000-95dfbc08e9",
    "request_id": "8ed19f7f204522624b1b1d458e7afab4",
    "detail": {"segmentation": "default", "from": "20261205.120000.000000-1a2b3c4d5e", "reason": "better fit"},
    "client": "203.0.113.7",
}


class AuditEventOut(BaseModel):
    """One recorded change or sign-in attempt."""

    model_config = example_config(_EVENT)

    id: int = Field(description="The event's id.")
    at: datetime = Field(description="When (UTC).")
    who: str = Field(description="A user's email, `email:key-name` for a personal key, or an ADMIN_API_KEYS key id.")
    action: str = Field(description="What, e.g. `version.activate` or `login.failed`.")
    target: str = Field(description="What it was done to: a version id, a segmentation, an email, an id.")
    request_id: str | None = Field(description="The request's X-Request-ID.")
    detail: dict[str, Any] = Field(description="More about it; never secrets, passwords, hashes or keys.")
    client: str | None = Field(description="The client's address.")


class AuditPage(BaseModel):
    """One page of events, newest first."""

    model_config = example_config({"events": [_EVENT], "next_cursor": "42"})

    events: list[AuditEventOut] = Field(description="The events of this page, newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page; null on the last.")
