"""The audit trail as the API answers it."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AuditEventOut(BaseModel):
    """One recorded change or sign-in attempt."""

    id: int
    at: datetime = Field(description="When (UTC).")
    who: str = Field(description="A user's email, `email:key-name` for a personal key, or an ADMIN_API_KEYS key id.")
    action: str = Field(description="What, e.g. `version.activate` or `login.failed`.")
    target: str = Field(description="What it was done to: a version id, a segmentation, an email, an id.")
    request_id: str | None = Field(description="The request's X-Request-ID.")
    detail: dict[str, Any] = Field(description="More about it; never secrets, passwords, hashes or keys.")
    client: str | None = Field(description="The client's address.")


class AuditPage(BaseModel):
    """One page of events, newest first."""

    events: list[AuditEventOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page; null on the last.")
