"""The audit trail: one row per change someone made, written after the change succeeded, and read back by admins."""

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.core.errors import InvalidRequest
from app.db.errors import db_error_reason
from app.db.tables import AuditEvent
from app.utils.numbers import whole_number

logger = logging.getLogger(__name__)

ACTIONS = (
    "version.activate",
    "version.train",
    "version.rollback",
    "version.delete",
    "version.label",
    "segmentation.create",
    "segmentation.delete",
    "challenger.set",
    "challenger.promote",
    "challenger.stop",
    "outcomes.record",
    "proposal.create",
    "proposal.accept",
    "proposal.dismiss",
    "segment.edit",
    "segment.revert",
    "user.create",
    "user.update",
    "user.password_set",
    "user.password_change",
    "key.create",
    "key.revoke",
    "webhook.create",
    "webhook.delete",
    "run.delete",
    "login.succeeded",
    "login.failed",
)
# Detail keys never stored, whatever a caller passes: the trail must not become a place secrets leak to.
SECRET_WORDS = ("password", "secret", "hash", "key", "token")
MAX_LIMIT = 500


def _clean(detail: dict[str, Any] | None) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for name, value in (detail or {}).items():
        if any(word in name.lower() for word in SECRET_WORDS):
            continue
        kept[name] = value if isinstance(value, str | int | float | bool | None) else str(value)
    return kept


def record(
    *,
    sessions: sessionmaker[Session] | None,
    who: str,
    action: str,
    target: str,
    request_id: str | None = None,
    client: str | None = None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Write one audit row; False (and a warning) when the database is missing or down, never an exception."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if sessions is None:
        logger.warning("audit %s on %s by %s not recorded: no database", action, target, who)
        return False
    row = AuditEvent(
        at=datetime.now(UTC),
        who=who[:300],
        action=action,
        target=target[:300],
        request_id=(request_id or None) and request_id[:128],
        detail=_clean(detail),
        client=(client or None) and client[:64],
    )
    try:
        with sessions() as session:
            session.add(row)
            session.commit()
    except SQLAlchemyError as exc:
        logger.warning("audit %s on %s by %s not recorded: %s", action, target, who, db_error_reason(exc))
        return False
    return True


def _utc(moment: datetime | None) -> datetime | None:
    # A time sent without an offset is read as UTC, the trail's own clock.
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    position = whole_number(cursor)
    if position is None:
        raise InvalidRequest("cursor must be the next_cursor of a previous page")
    return position


def list_events(
    *,
    session: Session,
    action: str | None = None,
    who: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Events newest first, filtered, one page of `limit` after `cursor` (keyset on id), and the next cursor."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    if action:
        query = query.where(AuditEvent.action == action)
    if who:
        query = query.where(AuditEvent.who == who)
    if target:
        query = query.where(AuditEvent.target == target)
    since, until = (_utc(moment) for moment in (since, until))
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    after = _cursor(cursor)
    if after is not None:
        query = query.where(AuditEvent.id < after)
    rows = list(session.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "events": [
            {
                "id": row.id,
                "at": row.at,
                "who": row.who,
                "action": row.action,
                "target": row.target,
                "request_id": row.request_id,
                "detail": row.detail,
                "client": row.client,
            }
            for row in rows
        ],
        "next_cursor": str(rows[-1].id) if more and rows else None,
    }
