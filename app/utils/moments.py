"""Moments in time as the service stores them: aware, in UTC."""

from datetime import UTC, datetime, timedelta

# Clocks disagree a little; a day ahead is a wrong date, not a skewed clock.
FUTURE_SLACK = timedelta(days=1)


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC (as the database's time columns take it)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def latest_plausible() -> datetime:
    """The latest moment a recorded event (an outcome, a transaction) can have happened: tomorrow, as UTC."""
    return datetime.now(UTC) + FUTURE_SLACK
