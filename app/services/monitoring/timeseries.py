"""The dashboard over time: per hour, day or week, the segment mix, volumes, atypical and out-of-range rates from the
prediction log, and each drift check from the stored evaluations."""

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.tables import DriftCheck
from app.models.model import SegmentationModel
from app.models.segmentations.spec import DEFAULT_NAME
from app.services.monitoring.log_columns import micros, read_columns
from app.services.monitoring.log_reader import LogFilter
from app.services.monitoring.windows import check_order
from app.utils.moments import utc

BUCKETS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
# Without since, this many buckets back from now.
DEFAULT_BUCKETS = {"hour": 48, "day": 30, "week": 12}
MAX_BUCKETS = 400
# Most log rows read (the newest); older ones in the range are left out and the answer says so.
MAX_ROWS = 500_000
_MICROSECOND = timedelta(microseconds=1)
_DAY = timedelta(days=1) // _MICROSECOND


def floor(moment: datetime, bucket: str) -> datetime:
    """The start of the hour, day or ISO week (Monday, UTC) `moment` falls in."""
    hour = moment.replace(minute=0, second=0, microsecond=0)
    if bucket == "hour":
        return hour
    day = hour.replace(hour=0)
    return day if bucket == "day" else day - timedelta(days=day.weekday())


def _span(bucket: str, since: datetime | None, until: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    check_order(since=since, until=until)
    until = utc(until) if until is not None else now
    step = BUCKETS[bucket]
    since = utc(since) if since is not None else until - DEFAULT_BUCKETS[bucket] * step
    # A since alone after now is the bucket of now alone, not an error (as the volume series does).
    since = min(since, until)
    # At most MAX_BUCKETS buckets: an older since is moved forward.
    return max(floor(since, bucket), floor(until, bucket) - (MAX_BUCKETS - 1) * step), until


def _index(moment: datetime, start: datetime, bucket: str) -> int:
    return int((floor(moment, bucket) - start) / BUCKETS[bucket])


def _indexes(times: np.ndarray, start: datetime, bucket: str) -> np.ndarray:
    """`_index` of each logged time (microseconds since the epoch, UTC)."""
    step = BUCKETS[bucket] // _MICROSECOND
    if bucket == "week":
        # The epoch was a Thursday: a day's weekday (Monday 0) is (days + 3) % 7.
        days = times // _DAY
        floors = (days - (days + 3) % 7) * _DAY
    else:
        floors = times // step * step
    return (floors - micros(start)) // step


def _latest_per_customer(buckets: np.ndarray, customer_ids: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Of the rows at `inside` (positions in read order, newest first), each customer's first in its bucket and every
    row without a customer id, in read order."""
    import pandas as pd  # here, not at import: a server that never draws the series starts without pandas

    codes, uniques = pd.factorize(customer_ids[inside])
    with_id = codes >= 0
    pairs = buckets[inside][with_id] * len(uniques) + codes[with_id]
    first = np.unique(pairs, return_index=True)[1]
    return np.sort(np.concatenate([inside[with_id][first], inside[~with_id]]))


def _segment_counts(at: np.ndarray, segment_ids: np.ndarray, n: int) -> list[dict[str, int]]:
    """Per bucket, the kept rows (their buckets `at`, in read order) per segment id, in the order each segment is
    first met, as the answer has always listed them."""
    counts: list[dict[str, int]] = [{} for _ in range(n)]
    segments, codes = np.unique(segment_ids, return_inverse=True)
    pairs, first, sizes = np.unique(at * len(segments) + codes, return_index=True, return_counts=True)
    order = np.argsort(first)
    names = [str(segment_id) for segment_id in segments.tolist()]
    for pair, size in zip(pairs[order].tolist(), sizes[order].tolist(), strict=True):
        counts[pair // len(names)][names[pair % len(names)]] = size
    return counts


def timeseries(
    session: Session,
    model: SegmentationModel,
    *,
    segmentation: str = DEFAULT_NAME,
    bucket: str = "day",
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Per bucket: predictions logged, customers (each id once in the bucket, its latest), their segment mix and
    atypical and out-of-range rates, and the last stored drift evaluation in it."""
    start, until = _span(bucket, since, until, utc(now or datetime.now(UTC)))
    n = _index(until, start, bucket) + 1
    rows = read_columns(
        session,
        columns=("created_at", "segment_id", "is_atypical", "out_of_range", "customer_id"),
        where=LogFilter(segmentation=segmentation, model_versions=(model.version,), since=start, until=until),
        limit=MAX_ROWS + 1,
    )
    truncated = len(rows) > MAX_ROWS
    names = {segment.segment_id: segment.name for segment in model.segments}
    buckets = _indexes(rows[:MAX_ROWS].columns["created_at"], start, bucket)
    inside = np.flatnonzero((buckets >= 0) & (buckets < n))
    kept = _latest_per_customer(buckets, rows.columns["customer_id"], inside)
    at, columns = buckets[kept], rows.columns
    predictions = np.bincount(buckets[inside], minlength=n).tolist()
    sizes = np.bincount(at, minlength=n).tolist()
    atypical = np.bincount(at[columns["is_atypical"][kept]], minlength=n).tolist()
    out_of_range = np.bincount(at[columns["out_of_range"][kept]], minlength=n).tolist()
    counts = _segment_counts(at, columns["segment_id"][kept], n)
    checks = _evaluations(session, segmentation=segmentation, start=start, until=until, bucket=bucket, n=n)
    series = [
        {
            "start": (start + b * BUCKETS[bucket]).isoformat(),
            "predictions": predictions[b],
            "customers": sizes[b],
            "counts": counts[b],
            # Python ints divided, as the sums of flags were: the same float to the last bit.
            "atypical_rate": atypical[b] / sizes[b] if sizes[b] else None,
            "out_of_range_rate": out_of_range[b] / sizes[b] if sizes[b] else None,
            "drift": checks[b],
        }
        for b in range(n)
    ]
    seen = sorted({int(key) for point in series for key in point["counts"]} | set(names))
    return {
        "segmentation": segmentation,
        "model_version": model.version,
        "bucket": bucket,
        "since": start.isoformat(),
        "until": until.isoformat(),
        "truncated": truncated,
        "segments": [{"segment_id": i, "segment_name": names.get(i, f"Segment {i}")} for i in seen],
        "series": series,
    }


def _evaluations(
    session: Session, *, segmentation: str, start: datetime, until: datetime, bucket: str, n: int
) -> list[dict[str, Any] | None]:
    """The last stored evaluation in each bucket (its status and each check's), None where there is none."""
    rows = session.scalars(
        select(DriftCheck)
        .where(
            DriftCheck.segmentation == segmentation,
            DriftCheck.evaluated_at >= start,
            DriftCheck.evaluated_at <= until,
        )
        .order_by(DriftCheck.evaluated_at, DriftCheck.id)
    ).all()
    last: list[dict[str, Any] | None] = [None] * n
    for row in rows:
        b = _index(row.evaluated_at, start, bucket)
        if 0 <= b < n:
            last[b] = {
                "evaluated_at": row.evaluated_at.isoformat(),
                "status": row.status,
                "checks": {check["check"]: check["status"] for check in row.checks},
            }
    return last
