"""Moments in time as the service stores them: aware, in UTC."""

from datetime import UTC, date, datetime, timedelta

# Clocks disagree a little; a day ahead is a wrong date, not a skewed clock.
FUTURE_SLACK = timedelta(days=1)
# The days a request may name: far apart enough for any real history, and far enough from date's own limits (years
# 1 and 9999) that a window of weeks around them stays on the calendar.
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(9000, 12, 31)


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC (as the database's time columns take it)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def latest_plausible() -> datetime:
    """The latest moment a recorded event (an outcome, a transaction) can have happened: tomorrow, as UTC."""
    return datetime.now(UTC) + FUTURE_SLACK


def in_calendar(value: datetime) -> datetime:
    """The moment, or ValueError when it lies outside EARLIEST_DAY to LATEST_DAY (UTC): 0001-01-01 is no real bound."""
    try:
        inside = EARLIEST_DAY <= utc(value).date() <= LATEST_DAY
    except OverflowError:  # 0001-01-01T00:00+14:00 is before the first representable UTC moment
        inside = False
    if not inside:
        raise ValueError(f"expected a moment between {EARLIEST_DAY} and {LATEST_DAY}")
    return value
