"""Windows of the prediction log for drift: a span of time with each customer once, or the last N rows as logged."""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from app.core.errors import InvalidRequest
from app.models.segmentations.spec import DEFAULT_NAME
from app.services.monitoring.drift import DEFAULT_WINDOW, MainRequest, Window
from app.services.monitoring.log_columns import LogBlock, moment, read_blocks
from app.services.monitoring.log_reader import LogFilter, request_of
from app.utils.moments import utc

# A time window without bounds: the last day.
DEFAULT_SPAN = timedelta(hours=24)
# Most rows a time window reads, newest first (before each customer is counted once); the window says when more
# matched, and its verdict then describes the newest of them.
MAX_TIME_WINDOW_ROWS = 200_000
# The last-N-rows window reads the served version's predictions among this many newest rows (of each of the log's
# tables): enough for any window, and a bound on the rows scanned when that version has had little traffic.
MAX_SCANNED_ROWS = 200_000
# Rows a window reads at a time. Read whole, a 200,000-row window held a Row, a datetime, a dict of inputs and
# two strings a row, ~120 MB that the server's allocator kept after each drift evaluation; read in parts into
# arrays, it holds about 60 bytes a row.
READ_PART_ROWS = 10_000
_PART_ARRAYS = ("id", "created", "segment_id", "atypical", "out_of_range", "request", "customer")

_COLUMNS = ("ref", "created_at", "inputs", "segment_id", "is_atypical", "out_of_range", "request_id")


class ReversedSpan(InvalidRequest):
    """A span asked for with its since after its until: a mistake to say, never an empty window to answer."""

    def __init__(self, since: datetime, until: datetime) -> None:
        super().__init__(
            f"since ({since.isoformat()}) is after until ({until.isoformat()}): give a since before the until"
        )
        self.since = since
        self.until = until


def check_order(*, since: datetime | None, until: datetime | None) -> None:
    """ReversedSpan when both bounds are given and since is after until (equal bounds are an empty span)."""
    if since is not None and until is not None and utc(since) > utc(until):
        raise ReversedSpan(utc(since), utc(until))


def time_bounds(
    *, since: datetime | None, until: datetime | None, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """The span a time window covers: until defaults to now, since to a day before until."""
    check_order(since=since, until=until)
    until = utc(until) if until is not None else utc(now or datetime.now(UTC))
    since = utc(since) if since is not None else until - DEFAULT_SPAN
    # A since alone after now (a client's clock ahead of ours) is an empty window ending now, not an error, as the
    # volume series does.
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
    where = LogFilter(segmentation=segmentation, model_versions=(model_version,), since=since, until=until)
    read = _read(
        read_blocks(
            session,
            columns=(*_COLUMNS, "customer_id"),
            where=where,
            limit=MAX_TIME_WINDOW_ROWS + 1,
            part_rows=READ_PART_ROWS,
        ),
        limit=MAX_TIME_WINDOW_ROWS,
    )
    return read.window(
        session,
        kind="time",
        requested=None,
        latest=True,
        since=since,
        until=until,
        rows_read=read.rows,
        truncated=read.limit_hit,
    )


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
    if since is not None or until is not None:
        since, until = time_bounds(since=since, until=until)
    where = LogFilter(segmentation=segmentation, model_versions=(model_version,), since=since, until=until)
    read = _read(
        read_blocks(
            session,
            columns=_COLUMNS,
            where=where,
            limit=size,
            newest_rows=MAX_SCANNED_ROWS,
            part_rows=READ_PART_ROWS,
        )
    )
    return read.window(session, kind="rows", requested=size, since=since, until=until)


def _id_hash(value: str | None) -> int:
    """A customer or request id as a 64-bit hash, 0 for none: two of 200,000 ids collide about once in 10^9."""
    return 0 if value is None else hash(value) or 1


def _id_hashes(values: np.ndarray) -> np.ndarray:
    """`_id_hash` of each id (str hashes are cached on the strings: faster than a vectorised hash)."""
    return np.fromiter(map(_id_hash, values), np.int64, len(values))


class _Read:
    """Logged rows read newest first, held as arrays (see READ_PART_ROWS)."""

    def __init__(self) -> None:
        self.rows = 0
        self.limit_hit = False
        self._parts: dict[str, list[np.ndarray]] = {key: [] for key in _PART_ARRAYS}
        # Per feature name, per part: where the part starts, which rows have the name, and their values.
        self._inputs: dict[str, list[tuple[int, np.ndarray, np.ndarray]]] = {}

    def add(self, part: LogBlock) -> None:
        """Hold one part of the rows, in the order read."""
        if not part:
            return
        arrays, columns = self._parts, part.columns
        arrays["id"].append(columns["ref"])
        arrays["created"].append(columns["created_at"])
        arrays["segment_id"].append(columns["segment_id"])
        arrays["atypical"].append(columns["is_atypical"])
        arrays["out_of_range"].append(columns["out_of_range"])
        arrays["request"].append(_id_hashes(columns["request_id"]))
        customers = columns.get("customer_id")
        arrays["customer"].append(_id_hashes(customers) if customers is not None else np.zeros(len(part), np.int64))
        for name, (present, values) in part.inputs.items():
            self._inputs.setdefault(name, []).append((self.rows, present, values))
        self.rows += len(part)

    def _column(self, key: str, dtype: Any) -> np.ndarray:
        parts = self._parts[key]
        return np.concatenate(parts) if parts else np.empty(0, dtype)

    def window(
        self, session: Session, *, kind: str, requested: int | None, latest: bool = False, **facts: Any
    ) -> Window:
        """The rows (with `latest`, each customer id's newest only) as a Window, oldest first."""
        keep = np.ones(self.rows, dtype=bool)
        if latest:
            customers = self._column("customer", np.int64)
            # A customer's first row read is its latest: np.unique's index is the first occurrence.
            with_id = np.flatnonzero(customers)
            keep[with_id] = False
            keep[with_id[np.unique(customers[with_id], return_index=True)[1]]] = True
        order = np.flatnonzero(keep)[::-1]
        inputs = {}
        for name, parts in sorted(self._inputs.items()):
            present, values = np.zeros(self.rows, dtype=bool), np.full(self.rows, np.nan)
            for offset, part_present, part_values in parts:
                present[offset : offset + len(part_values)] = part_present
                values[offset : offset + len(part_values)] = part_values
            if present[order].any():  # a name only older rows of a customer had is not in the window
                values = values[order]
                inputs[name] = values[~np.isnan(values)]
        created = self._column("created", np.int64)[order]
        return Window(
            inputs=inputs,
            segment_ids=self._column("segment_id", np.int64)[order],
            atypical=self._column("atypical", bool)[order],
            out_of_range=self._column("out_of_range", bool)[order],
            first=moment(created[0]) if len(order) else None,
            last=moment(created[-1]) if len(order) else None,
            requested=requested,
            kind=kind,
            main_request=self._main_request(session, order, created),
            **facts,
        )

    def _main_request(self, session: Session, order: np.ndarray, created: np.ndarray) -> MainRequest | None:
        """The request that answered the most kept rows (a file or a batch; ties: the first logged), with its share."""
        requests = self._column("request", np.int64)[order]
        with_request = np.flatnonzero(requests)
        if not len(with_request):
            return None
        values, first, counts = np.unique(requests[with_request], return_index=True, return_counts=True)
        best = np.lexsort((first, -counts))[0]
        own = with_request[requests[with_request] == values[best]]
        # Its id and source from its oldest row: the window holds hashes, not strings.
        found = request_of(session, int(self._column("id", np.int64)[order][own[0]]))
        if found is None:  # removed since it was read (the retention purge ran between the two reads)
            return None
        return MainRequest(
            request_id=found[0],
            source=found[1],
            rows=int(counts[best]),
            share=int(counts[best]) / len(order),
            at=moment(created[own].min()),
        )


def _read(parts: Iterable[LogBlock], *, limit: int | None = None) -> _Read:
    """Hold the log's rows part by part; with `limit`, rows past it only say more matched."""
    read = _Read()
    for part in parts:
        if limit is not None and read.rows + len(part) > limit:
            part = part[: limit - read.rows]
            read.limit_hit = True
        read.add(part)
        if read.limit_hit:
            break
    return read
