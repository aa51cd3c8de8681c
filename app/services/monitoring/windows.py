"""Windows of the prediction log for drift: a span of time with each customer once, or the last N rows as logged."""

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from app.db.tables import PredictionLog
from app.models.segmentations.spec import DEFAULT_NAME
from app.services.monitoring.drift import DEFAULT_WINDOW, MainRequest, Window

# A time window without bounds: the last day.
DEFAULT_SPAN = timedelta(hours=24)
# Most rows a time window reads, newest first (before each customer is counted once); the window says when more
# matched, and its verdict then describes the newest of them.
MAX_TIME_WINDOW_ROWS = 200_000
# The last-N-rows window reads the served version's predictions among this many newest rows: enough for any
# window, and a bound on the rows scanned when that version has had little traffic.
MAX_SCANNED_ROWS = 200_000

_COLUMNS = (
    PredictionLog.created_at,
    PredictionLog.inputs,
    PredictionLog.segment_id,
    PredictionLog.is_atypical,
    PredictionLog.out_of_range,
    PredictionLog.request_id,
    PredictionLog.source,
)


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def time_bounds(
    *, since: datetime | None, until: datetime | None, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """The span a time window covers: until defaults to now, since to a day before until."""
    until = utc(until) if until is not None else utc(now or datetime.now(UTC))
    since = utc(since) if since is not None else until - DEFAULT_SPAN
    # A since after until (a client's clock ahead of ours) is an empty window ending at until, not an error, as
    # the volume series does.
    return min(since, until), until


def time_window(
    session: Session,
    *,
    model_version: str,
    segmentation: str = DEFAULT_NAME,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> Window:
    """The version's predictions logged from `since` to `until` (default: the last 24 hours), each customer id once.

    A customer scored several times in the window counts as its latest prediction, so re-scoring a file changes
    nothing and the rows' order does not matter; rows without a customer id count as they are.
    """
    since, until = time_bounds(since=since, until=until, now=now)
    log = PredictionLog
    rows = session.execute(
        select(*_COLUMNS, log.customer_id)
        .where(
            log.segmentation == segmentation,
            log.model_version == model_version,
            log.created_at >= since,
            log.created_at <= until,
        )
        .order_by(log.id.desc())
        .limit(MAX_TIME_WINDOW_ROWS + 1)
    ).all()
    truncated = len(rows) > MAX_TIME_WINDOW_ROWS
    rows = rows[:MAX_TIME_WINDOW_ROWS]
    latest = _latest_per_customer(rows)
    return _window(
        latest[::-1], kind="time", requested=None, since=since, until=until, rows_read=len(rows), truncated=truncated
    )


def _latest_per_customer(newest_first: Sequence[Row]) -> list[Row]:
    """Rows newest first, keeping a customer id's first (latest) row only; rows without an id all stay."""
    seen: set[str] = set()
    kept = []
    for row in newest_first:
        customer = row.customer_id
        if customer is not None:
            if customer in seen:
                continue
            seen.add(customer)
        kept.append(row)
    return kept


def last_rows_window(
    session: Session,
    *,
    model_version: str,
    size: int = DEFAULT_WINDOW,
    segmentation: str = DEFAULT_NAME,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Window:
    """The last `size` predictions `model_version` of `segmentation` logged (between `since` and `until` when
    given), among the newest MAX_SCANNED_ROWS rows, oldest first.

    The scan is bounded by primary key, so a version with little traffic in a long log stays cheap.
    """
    log = PredictionLog
    newest = session.scalar(select(func.max(log.id)))
    if since is not None or until is not None:
        since, until = time_bounds(since=since, until=until)
    if newest is None:
        rows: list[Any] = []
    else:
        bounds = [] if since is None else [log.created_at >= since, log.created_at <= until]
        rows = session.execute(
            select(*_COLUMNS)
            .where(
                log.segmentation == segmentation,
                log.model_version == model_version,
                log.id > newest - MAX_SCANNED_ROWS,
                *bounds,
            )
            .order_by(log.id.desc())
            .limit(size)
        ).all()[::-1]
    return _window(rows, kind="rows", requested=size, since=since, until=until)


def _main_request(rows: Sequence[Row]) -> MainRequest | None:
    """The request that answered the most rows (a file or a batch), with its share; rows without one are left out."""
    counts = Counter(row.request_id for row in rows if row.request_id is not None)
    if not counts:
        return None
    request_id, count = counts.most_common(1)[0]
    own = [row for row in rows if row.request_id == request_id]
    return MainRequest(
        request_id=request_id,
        source=own[0].source,
        rows=count,
        share=count / len(rows),
        at=min(row.created_at for row in own),
    )


def _window(rows: Sequence[Row], *, kind: str, requested: int | None, **facts: Any) -> Window:
    """A Window of rows oldest first: feature values by name (missing ones left out), segment ids and flags."""
    names = sorted({name for row in rows for name in row.inputs})
    inputs = {name: np.array([row.inputs.get(name, np.nan) for row in rows], dtype=np.float64) for name in names}
    return Window(
        inputs={name: values[~np.isnan(values)] for name, values in inputs.items()},
        segment_ids=np.array([row.segment_id for row in rows], dtype=np.int64),
        atypical=np.array([row.is_atypical for row in rows], dtype=bool),
        out_of_range=np.array([row.out_of_range for row in rows], dtype=bool),
        first=rows[0].created_at if rows else None,
        last=rows[-1].created_at if rows else None,
        requested=requested,
        kind=kind,
        main_request=_main_request(rows),
        **facts,
    )
