"""The dashboard over time: per hour, day or week, the segment mix, volumes, atypical and out-of-range rates from the
prediction log, and each drift check from the stored evaluations."""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.tables import DriftCheck
from app.models.model import SegmentationModel
from app.models.segmentations.spec import DEFAULT_NAME
from app.services.monitoring.log_reader import LogFilter, read_all
from app.services.monitoring.windows import check_order
from app.utils.moments import utc

BUCKETS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
# Without since, this many buckets back from now.
DEFAULT_BUCKETS = {"hour": 48, "day": 30, "week": 12}
MAX_BUCKETS = 400
# Most log rows read (the newest); older ones in the range are left out and the answer says so.
MAX_ROWS = 500_000


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
    rows = read_all(
        session,
        columns=("created_at", "segment_id", "is_atypical", "out_of_range", "customer_id"),
        where=LogFilter(segmentation=segmentation, model_versions=(model.version,), since=start, until=until),
        limit=MAX_ROWS + 1,
    )
    truncated = len(rows) > MAX_ROWS
    names = {segment.segment_id: segment.name for segment in model.segments}
    predictions = [0] * n
    customers: list[dict[Any, tuple]] = [{} for _ in range(n)]
    # Newest first: a customer's first row in a bucket is its latest there.
    for position, (created_at, segment_id, atypical, out_of_range, customer_id) in enumerate(rows[:MAX_ROWS]):
        b = _index(created_at, start, bucket)
        if not 0 <= b < n:
            continue
        predictions[b] += 1
        key = ("id", customer_id) if customer_id is not None else ("row", position)
        customers[b].setdefault(key, (segment_id, atypical, out_of_range))
    checks = _evaluations(session, segmentation=segmentation, start=start, until=until, bucket=bucket, n=n)
    series = []
    for b in range(n):
        kept = list(customers[b].values())
        counts: dict[str, int] = {}
        for segment_id, _, _ in kept:
            counts[str(segment_id)] = counts.get(str(segment_id), 0) + 1
        size = len(kept)
        series.append(
            {
                "start": (start + b * BUCKETS[bucket]).isoformat(),
                "predictions": predictions[b],
                "customers": size,
                "counts": counts,
                "atypical_rate": sum(a for _, a, _ in kept) / size if size else None,
                "out_of_range_rate": sum(o for _, _, o in kept) / size if size else None,
                "drift": checks[b],
            }
        )
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
