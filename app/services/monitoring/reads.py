"""Reads of the prediction log for monitoring: drift of a window, volume per segment over time, last activation."""

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.db.session import unavailable_as
from app.db.tables import ModelActivation
from app.models.model import SegmentationModel
from app.models.segmentations.spec import DEFAULT_NAME
from app.services.monitoring import history, windows
from app.services.monitoring import timeseries as series
from app.services.monitoring.drift import DEFAULT_WINDOW, Window, drift_report
from app.services.monitoring.log_reader import LogFilter, read_all
from app.utils.moments import utc

DEFAULT_SINCE = timedelta(days=7)
# Most rows read for the volume series; older ones in the range are left out (the response says so).
MAX_VOLUME_ROWS = 500_000
# Up to this span the series is hourly, beyond it daily.
HOURLY_SPAN = timedelta(days=2)
MAX_BUCKETS = 400

_database_errors = unavailable_as("the prediction log database cannot be read ({error}); predictions are still served")


@_database_errors
def recent_window(
    session: Session, *, model_version: str, size: int = DEFAULT_WINDOW, segmentation: str = DEFAULT_NAME
) -> Window:
    """The last `size` predictions `model_version` of `segmentation` logged (windows.last_rows_window)."""
    return windows.last_rows_window(session, model_version=model_version, size=size, segmentation=segmentation)


def drift(
    session: Session,
    model: SegmentationModel,
    *,
    window: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    segmentation: str = DEFAULT_NAME,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The drift report of `segmentation`'s logged predictions against the model's training reference.

    Only the served version's predictions: another version's segment ids mean other segments, and its traffic is not
    what this version sees. `window` asks for the last N rows as logged (within `since`/`until` when given);
    otherwise the window is `since` to `until` (default: the last 24 hours) with each customer id counted once.
    """
    if window is not None:
        recent = _last_rows(
            session, model_version=model.version, size=window, segmentation=segmentation, since=since, until=until
        )
    else:
        recent = _time_window(
            session, model_version=model.version, segmentation=segmentation, since=since, until=until, now=now
        )
    return drift_report(model, recent)


_time_window = _database_errors(windows.time_window)
_last_rows = _database_errors(windows.last_rows_window)
drift_history = _database_errors(history.drift_history)
timeseries = _database_errors(series.timeseries)


@_database_errors
def prediction_volume(
    session: Session,
    model: SegmentationModel,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
    segmentation: str = DEFAULT_NAME,
) -> dict[str, Any]:
    """The model's logged predictions in `segmentation` per segment per hour (spans up to two days) or per day, from
    `since` (default: 7 days before `until`) to `until` (default: now); ReversedSpan for a since after its until."""
    windows.check_order(since=since, until=until)
    until = utc(until) if until is not None else utc(now or datetime.now(UTC))
    since = utc(since) if since else until - DEFAULT_SINCE
    # A since alone in the future (a client's clock ahead of ours) is an empty range ending now, not an error.
    since = min(since, until)
    step = timedelta(hours=1) if until - since <= HOURLY_SPAN else timedelta(days=1)
    since = max(since, until - (MAX_BUCKETS - 1) * step)
    where = LogFilter(segmentation=segmentation, model_versions=(model.version,), since=since, until=until)
    rows = read_all(session, columns=("created_at", "segment_id"), where=where, limit=MAX_VOLUME_ROWS + 1)
    truncated = len(rows) > MAX_VOLUME_ROWS
    rows = rows[:MAX_VOLUME_ROWS]
    start = _floor(since, step)
    n_buckets = max(int((until - start) / step) + 1, 1)
    names = {segment.segment_id: segment.name for segment in model.segments}
    ids = sorted(names | {segment_id: f"Segment {segment_id}" for _, segment_id in rows if segment_id not in names})
    column = {segment_id: i for i, segment_id in enumerate(ids)}
    counts = np.zeros((n_buckets, len(ids)), dtype=np.int64)
    for created_at, segment_id in rows:
        bucket = int((created_at - start) / step)
        if 0 <= bucket < n_buckets:
            counts[bucket, column[segment_id]] += 1
    return {
        "model_version": model.version,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "bucket": "hour" if step == timedelta(hours=1) else "day",
        "total": int(counts.sum()),
        "truncated": truncated,
        "segments": [{"segment_id": i, "segment_name": names.get(i, f"Segment {i}")} for i in ids],
        "series": [
            {
                "start": (start + b * step).isoformat(),
                "counts": {str(i): int(counts[b, column[i]]) for i in ids},
                "total": int(counts[b].sum()),
            }
            for b in range(n_buckets)
        ],
    }


def _floor(moment: datetime, step: timedelta) -> datetime:
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(minute=0, second=0, microsecond=0) if step < timedelta(days=1) else midnight


def last_activation(session: Session, *, segmentation: str = DEFAULT_NAME) -> dict[str, Any] | None:
    """The latest mirrored activation of `segmentation` (time and version); None when the mirror has none or cannot
    be read."""
    try:
        row = session.execute(
            select(ModelActivation.activated_at, ModelActivation.to_version)
            .where(ModelActivation.segmentation == segmentation)
            .order_by(ModelActivation.activated_at.desc(), ModelActivation.id.desc())
            .limit(1)
        ).first()
    except SQLAlchemyError:
        session.rollback()
        return None
    return None if row is None else {"at": row.activated_at.isoformat(), "version": row.to_version}
