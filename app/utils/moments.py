"""Moments in time as the service stores them: aware, in UTC."""

from datetime import UTC, datetime


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC (as the database's time columns take it)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
