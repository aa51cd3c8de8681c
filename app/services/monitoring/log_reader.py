"""The prediction log as its readers see it: per-row predictions and chunk rows (prediction_chunks) as one sequence.

Every reader of the log goes through here, so a batch stored as one chunk reads exactly as the same predictions
stored a row each. Rows come newest first: the per-row table in the order it was written (id descending: "the last
N rows as logged" has always meant by id), the chunks by the time they were answered (a scored file's chunks are
written only once the file succeeds, after batches answered meanwhile), a chunk's rows from its last; the two are
merged by created_at, and at one created_at a chunk's rows come before per-row ones (an arbitrary but fixed choice).
A row's `ref` names it: the per-row id, or minus the chunk's id. Readers that reduce many rows (drift windows, the
over-time series) take the same rows as arrays through log_columns.py, which runs these queries.
"""

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from typing import Any

import orjson
from sqlalchemy import DateTime, String, Text, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from app.db.chunk_payload import BadChunk, decode_customer_ids, decode_payload
from app.db.tables import PredictionChunk, PredictionLog
from app.services.monitoring.damaged_chunks import left_out
from app.services.monitoring.log_rows import SHARED_COLUMNS
from app.utils.moments import utc

# Rows a read yields at a time: a caller holding arrays rather than rows keeps little per row (windows.py).
PART_ROWS = 10_000
# Chunks fetched at a time: each holds a payload of ~50 bytes a row (400 kB for 10,000 rows).
CHUNKS_AT_ONCE = 16
# Customer ids decoded at most when a customer's newest prediction is looked for in the chunks, newest chunks
# first: a customer last scored in a batch further back than that is found in the per-row table only (or not).
MAX_SCANNED_CUSTOMER_IDS = 2_000_000
# Customer ids per IN (...) query, within SQLite's (32,766) and PostgreSQL's (65,535) limits on bound parameters.
IDS_PER_QUERY = 10_000
# The per-row columns a chunk's payload holds (inputs apart: they come back as a dict by feature name).
_PAYLOAD = ("segment_id", "distance", "confidence", "is_atypical", "out_of_range", "challenger_segment_id")


@dataclass(frozen=True, slots=True)
class LogFilter:
    """Which logged predictions a read takes; None means any."""

    segmentation: str | None = None
    model_versions: tuple[str, ...] | None = None
    since: datetime | None = None
    until: datetime | None = None
    source: str | None = None
    challenger_version: str | None = None
    # Only rows served while a challenger ran (an arm set), or only shadow pairs (a challenger segment id).
    with_arm: bool = False
    paired: bool = False

    def conditions(self, table: Any) -> list[Any]:
        """The SQL conditions on the columns both tables share."""
        found = []
        if self.segmentation is not None:
            found.append(table.segmentation == self.segmentation)
        if self.model_versions is not None:
            found.append(table.model_version.in_(self.model_versions))
        if self.since is not None:
            found.append(table.created_at >= self.since)
        if self.until is not None:
            found.append(table.created_at <= self.until)
        if self.source is not None:
            found.append(table.source == self.source)
        if self.challenger_version is not None:
            found.append(table.challenger_version == self.challenger_version)
        if self.with_arm:
            found.append(table.arm.is_not(None))
        if self.paired:
            # A chunk with a challenger version holds each row's challenger segment id (shadow mode sets both).
            found.append(
                PredictionLog.challenger_segment_id.is_not(None)
                if table is PredictionLog
                else PredictionChunk.challenger_version.is_not(None)
            )
        return found


def _raw_time(table: Any) -> Any:
    # Not through UtcDateTime: making 200,000 datetimes aware took a fifth of a drift read; callers that want aware
    # times get them from `read_log`.
    return type_coerce(table.created_at, DateTime(timezone=True)).label("created_at")


def loads_inputs(text: str | None) -> dict[str, Any]:
    """A row's logged inputs: orjson, the standard parser for what orjson refuses (NaN, as older rows may hold)."""
    if text is None:
        return {}
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def read_log(
    session: Session,
    *,
    columns: Sequence[str],
    where: LogFilter,
    limit: int,
    newest_rows: int | None = None,
    raw_times: bool = False,
    part_rows: int = PART_ROWS,
) -> Iterator[list[tuple]]:
    """The logged predictions `where` takes, newest first, at most `limit`, as parts of up to `part_rows` rows.

    Rows are tuples of `columns` (any of log_rows.COLUMNS, and `ref`); inputs come as a dict by feature name,
    created_at as aware UTC (with `raw_times`, as the driver gives it: naive UTC on SQLite). `newest_rows` bounds the
    scan to the newest that many rows of each table (of every segmentation), so a quiet version stays cheap to read.
    """
    if limit <= 0:
        return
    per_row, chunks = (
        per_row_parts(session, columns, where, limit, newest_rows),
        chunk_parts(session, columns, where, newest_rows),
    )
    convert = None if raw_times or "created_at" not in columns else columns.index("created_at")
    part: list[tuple] = []
    taken = 0
    try:
        for block in _merged(per_row, chunks, columns):
            block = block[: limit - taken]
            if convert is not None:
                block = [(*row[:convert], utc(row[convert]), *row[convert + 1 :]) for row in block]
            part += block
            taken += len(block)
            while len(part) >= part_rows:
                yield part[:part_rows]
                part = part[part_rows:]
            if taken >= limit:
                break
    finally:
        # Their cursors now, not when collected: a PostgreSQL server-side cursor would stay open until the session ends.
        per_row.close()
        chunks.close()
    if part:
        yield part


def read_all(session: Session, *, columns: Sequence[str], where: LogFilter, limit: int) -> list[tuple]:
    """`read_log`'s rows in one list."""
    return [row for part in read_log(session, columns=columns, where=where, limit=limit) for row in part]


def _merged(
    per_row: Iterator[list], chunks: Iterator[tuple[tuple, list[tuple]]], columns: Sequence[str]
) -> Iterator[list]:
    """Blocks of rows newest first: the per-row table's parts and whole chunks (one key each) merged by key.

    A per-row part is compared with the next chunk by its oldest row, and cut only where a chunk falls inside it, so
    reading per-row rows costs no step a row. Its rows hold the key's time and id among `columns` or after them.
    """
    # log_columns._merged merges arrays in this same order: a change here is a change there, and
    # tests/services/monitoring/test_log_columns.py holds the two to each other.
    width = len(columns)
    time_at = columns.index("created_at") if "created_at" in columns else width
    id_at = columns.index("ref") if "ref" in columns else width + (time_at == width)
    keyed = time_at < width and id_at < width

    def key(row: Any) -> tuple:
        return (row[time_at], 0, row[id_at])

    part, at = next(per_row, []), 0
    for chunk_key, block in chunks:
        while part and key(part[-1]) > chunk_key:
            yield part[at:] if keyed else [row[:width] for row in part[at:]]
            part, at = next(per_row, []), 0
        end = at
        while end < len(part) and key(part[end]) > chunk_key:
            end += 1
        if end > at:
            yield part[at:end] if keyed else [row[:width] for row in part[at:end]]
        at = end
        yield block
    while part:
        yield part[at:] if keyed else [row[:width] for row in part[at:]]
        part, at = next(per_row, []), 0


def per_row_parts(
    session: Session,
    columns: Sequence[str],
    where: LogFilter,
    limit: int,
    newest_rows: int | None,
    *,
    columnar: bool = False,
) -> Iterator[list]:
    """Parts of the per-row table's matching rows, newest first: `columns`, then the row's time and id unless they
    are among them (see _merged); with `columnar`, a part is a tuple a column and times are as stored."""
    log = PredictionLog
    selected = {
        "ref": log.id,
        # As stored, for log_columns: SQLite's text, which numpy parses a part at a time, is not parsed a row at a
        # time here (PostgreSQL's driver gives a datetime either way).
        "created_at": type_coerce(log.created_at, String).label("created_at") if columnar else _raw_time(log),
        # As text, parsed with orjson: the JSON type's json.loads took a quarter of a drift read under a profiler.
        "inputs": cast(log.inputs, Text),
    }
    conditions = where.conditions(log)
    if newest_rows is not None:
        newest = session.scalar(select(func.max(log.id)))
        if newest is None:
            return
        conditions.append(log.id > newest - newest_rows)
    key = [_raw_time(log)] if "created_at" not in columns else []
    key += [log.id] if "ref" not in columns else []
    statement = (
        select(*(selected.get(name, getattr(log, name, None)) for name in columns), *key)
        .where(*conditions)
        .order_by(log.id.desc())
        .limit(limit)
    )
    at = columns.index("inputs") if "inputs" in columns else None
    # Core rows: the ORM would build its own row objects again for plain columns.
    result = session.connection().execute(statement.execution_options(yield_per=PART_ROWS))
    try:
        for part in result.partitions():
            if columnar:
                values = list(zip(*part, strict=True))
                if at is not None and values:
                    values[at] = tuple(map(loads_inputs, values[at]))
                yield values
                continue
            if at is not None and part:
                # Column by column, rejoined by zip in C: rebuilding each row in Python cost a fifth of a drift read.
                values = list(zip(*part, strict=True))
                values[at] = tuple(map(loads_inputs, values[at]))
                part = list(zip(*values, strict=True))
            yield part
    finally:
        result.close()  # left early, a PostgreSQL server-side cursor would stay open until the session ends


def chunk_parts(
    session: Session,
    columns: Sequence[str],
    where: LogFilter,
    newest_rows: int | None,
    build: Callable[[Any, Sequence[str], dict[str, Any]], Any] | None = None,
) -> Iterator[tuple[tuple, Any]]:
    """(key of its newest row, its rows newest first) of each matching chunk, newest chunk first."""
    # `build` makes the rows from a chunk row, the columns and its decoded payload: tuples, or log_columns' arrays.
    build = build or _chunk_rows
    chunk = PredictionChunk
    conditions = where.conditions(chunk)
    oldest, inside = 0, 0
    if newest_rows is not None:
        oldest, inside = _chunk_scan_bound(session, newest_rows)
        conditions.append(chunk.id >= oldest)
    wanted = [chunk.row_count, chunk.features, chunk.segment_names, chunk.payload]
    if "customer_id" in columns:
        wanted.append(chunk.customer_ids)
    shared = [getattr(chunk, name) for name in SHARED_COLUMNS if name != "created_at"]
    # By time, then id: a chunk's id says when it was written, not when it was answered (a scored file's chunks are
    # written once the file succeeds; another worker's and a retried write come later too), and the merge needs time.
    statement = (
        select(_raw_time(chunk), chunk.id, *shared, *wanted)
        .where(*conditions)
        .order_by(chunk.created_at.desc(), chunk.id.desc())
    )
    result = session.connection().execute(statement.execution_options(yield_per=CHUNKS_AT_ONCE))
    try:
        for found in result:
            try:
                payload = _payload(found)
                if where.paired and "challenger_segment_id" not in payload:
                    continue  # no pairs in it, as a per-row read leaves out rows without a challenger segment
                block = build(found, columns, payload)
            except BadChunk as problem:
                left_out(session, found.id, problem)
                continue
            # The chunk the scan bound cuts through: only its newest rows are within the bound.
            yield (found.created_at, 1, found.id), block[:inside] if found.id == oldest else block
    finally:
        result.close()


def _chunk_scan_bound(session: Session, newest_rows: int) -> tuple[int, int]:
    """The oldest chunk holding any of the newest `newest_rows` chunk rows, and how many of its rows (its newest) do."""
    chunk = PredictionChunk
    total, oldest, inside = 0, 0, 0
    # Each chunk holds at least one row, so no more chunks than rows are read.
    newest = select(chunk.id, chunk.row_count).order_by(chunk.id.desc()).limit(newest_rows)
    for chunk_id, rows in session.execute(newest):
        oldest, inside = chunk_id, min(rows, newest_rows - total)
        total += rows
        if total >= newest_rows:
            break
    return oldest, inside


def _payload(found: Any) -> dict[str, Any]:
    """A chunk row's decoded payload; BadChunk when it cannot be read or holds another number of rows."""
    rows, payload = decode_payload(found.payload)
    if rows != found.row_count:
        raise BadChunk(f"a payload of {rows} rows in a chunk of {found.row_count}")
    return payload


def chunk_inputs(found: Any, payload: dict[str, Any]) -> Any:
    """A chunk row's inputs (its decoded `payload`'s), a row of its features each; BadChunk where they are not."""
    features, inputs = found.features, payload.get("inputs")
    if inputs is None or inputs.shape[1:] != (len(features),):
        raise BadChunk(f"inputs that are not the chunk's {len(features)} features")
    return inputs


def _chunk_rows(found: Any, columns: Sequence[str], payload: dict[str, Any]) -> list[tuple]:
    """A chunk row's predictions (its decoded `payload`) as tuples of `columns`, newest (the chunk's last) first;
    BadChunk where its parts disagree."""
    rows = found.row_count
    values: list[Any] = []
    for name in columns:
        if name == "ref":
            values.append(repeat(-found.id))
        elif name in SHARED_COLUMNS:
            values.append(repeat(getattr(found, name)))
        elif name == "inputs":
            inputs = chunk_inputs(found, payload)
            values.append([dict(zip(found.features, row, strict=True)) for row in inputs[::-1].tolist()])
        elif name == "segment_name":
            try:
                names = found.segment_names
                values.append([names[str(segment_id)] for segment_id in payload["segment_id"][::-1].tolist()])
            except (KeyError, TypeError):
                raise BadChunk("a segment id the chunk names no segment for") from None
        elif name == "customer_id":
            values.append(decode_customer_ids(found.customer_ids, rows)[::-1])
        elif name in _PAYLOAD:
            values.append(payload[name][::-1].tolist() if name in payload else repeat(None))
        else:
            raise ValueError(f"the prediction log has no column {name!r}")
    if all(isinstance(value, repeat) for value in values):
        return [tuple(map(next, values))] * rows
    # strict=False: the repeat() columns are endless; the others have a value a row.
    return list(zip(*values, strict=False))


def request_of(session: Session, ref: int) -> tuple[str | None, str] | None:
    """The request id and source of a logged row by its `ref`; None when it is gone (purged since it was read)."""
    table = PredictionLog if ref > 0 else PredictionChunk
    found = session.execute(select(table.request_id, table.source).where(table.id == abs(ref))).first()
    return None if found is None else (found.request_id, found.source)


def count_by(session: Session, column: str | None, *, where: LogFilter) -> dict[Any, int]:
    """Logged predictions `where` takes, counted per value of a shared `column` (None: one total, under None).

    Chunks count by their stored row counts, their payloads unread: a damaged chunk's rows count here though every
    read of the rows leaves them out (telling would mean reading every payload in range, for the challenger report).
    """
    counts: dict[Any, int] = {}
    for table, counted in ((PredictionLog, func.count()), (PredictionChunk, func.sum(PredictionChunk.row_count))):
        group = [getattr(table, column)] if column is not None else []
        # select_from: without a condition or a group, count() would have no table to count.
        statement = select(*group, counted).select_from(table).where(*where.conditions(table))
        for *key, n in session.execute(statement.group_by(*group) if group else statement):
            value = key[0] if key else None
            counts[value] = counts.get(value, 0) + int(n or 0)
    return counts


def count(session: Session, *, where: LogFilter) -> int:
    """How many logged predictions `where` takes."""
    return count_by(session, None, where=where).get(None, 0)


def newest_by_customer(
    session: Session, *, segmentation: str, customer_ids: Sequence[str], columns: Sequence[str]
) -> dict[str, tuple]:
    """Each customer's newest logged prediction in `segmentation`, as a tuple of `columns`, by customer id.

    The per-row table is searched by its customer index; the chunks by decoding their ids, newest chunk first,
    until every customer is settled or MAX_SCANNED_CUSTOMER_IDS ids were read.
    """
    log = PredictionLog
    found: dict[str, tuple[tuple, tuple]] = {}
    for start in range(0, len(customer_ids), IDS_PER_QUERY):
        part = customer_ids[start : start + IDS_PER_QUERY]
        newest = (
            select(func.max(log.id).label("id"))
            .where(log.segmentation == segmentation, log.customer_id.in_(part))
            .group_by(log.customer_id)
            .subquery()
        )
        selected = [log.customer_id, _raw_time(log), log.id, *(getattr(log, name) for name in columns)]
        for customer_id, created_at, row_id, *values in session.execute(
            select(*selected).join(newest, log.id == newest.c.id)
        ):
            found[customer_id] = ((created_at, 0, row_id), tuple(values))
    scanned = 0
    chunk = PredictionChunk
    statement = (
        select(_raw_time(chunk), chunk.id, chunk.row_count, chunk.customer_ids)
        .where(chunk.segmentation == segmentation, chunk.customer_ids.is_not(None))
        .order_by(chunk.created_at.desc(), chunk.id.desc())
    )
    # Customers still open, and the per-row finds newest first: one settles once the chunks fall behind its time.
    open_ids = set(customer_ids)
    per_row = sorted(((key, customer_id) for customer_id, (key, _) in found.items()), reverse=True)
    settled = 0
    result = session.connection().execute(statement.execution_options(yield_per=CHUNKS_AT_ONCE))
    try:
        for created_at, chunk_id, rows, data in result:
            key = (created_at, 1, chunk_id)
            while settled < len(per_row) and per_row[settled][0] > key:
                open_ids.discard(per_row[settled][1])
                settled += 1
            if not open_ids or scanned >= MAX_SCANNED_CUSTOMER_IDS:
                break
            scanned += rows
            try:
                ids = decode_customer_ids(data, rows)
            except BadChunk as problem:
                left_out(session, chunk_id, problem)
                continue
            hits = {}
            for position, customer_id in enumerate(ids):
                if customer_id in open_ids:
                    hits[customer_id] = position  # the last one wins: the chunk's newest row of that customer
            if hits and _take_from_chunk(session, chunk_id, hits, columns, found, key):
                open_ids -= hits.keys()
    finally:
        result.close()
    return {customer_id: values for customer_id, (_, values) in found.items()}


def _take_from_chunk(
    session: Session,
    chunk_id: int,
    hits: dict[str, int],
    columns: Sequence[str],
    found: dict[str, tuple[tuple, tuple]],
    key: tuple,
) -> bool:
    """Put the chunk's rows at `hits` (customer id: position) into `found`; False (nothing put) if it is damaged."""
    chunk = session.execute(select(PredictionChunk).where(PredictionChunk.id == chunk_id)).scalar_one()
    try:
        rows = _chunk_rows(chunk, columns, _payload(chunk))
    except BadChunk as problem:
        left_out(session, chunk_id, problem)
        return False
    for customer_id, position in hits.items():
        found[customer_id] = (key, rows[len(rows) - 1 - position])
    return True


def customers_below(session: Session, *, where: LogFilter, enough: int) -> int | None:
    """The customers `where` takes (each id once, each row without one) when fewer than `enough`, else None.

    Counted in the database while the per-row table alone has fewer; only then are ids read (fewer than `enough`
    of them from the per-row table, the chunks' newest first until `enough` is reached).
    """
    log = PredictionLog
    conditions = where.conditions(log)
    per_row = session.scalar(
        select(func.count(func.distinct(log.customer_id)) + func.count() - func.count(log.customer_id))
        .select_from(log)
        .where(*conditions)
    )
    if per_row >= enough:
        return None
    ids = set(session.scalars(select(log.customer_id).distinct().where(*conditions, log.customer_id.is_not(None))))
    anonymous = per_row - len(ids)
    chunk = PredictionChunk
    statement = (
        # The payload and features too, though only ids are counted: a chunk whose payload is damaged, or whose inputs
        # are not its features, is left out of the rows the candidate reads, so its customers must not count either.
        select(chunk.id, chunk.row_count, chunk.customer_ids, chunk.payload, chunk.features)
        .where(*where.conditions(chunk))
        .order_by(chunk.id.desc())
    )
    result = session.connection().execute(statement.execution_options(yield_per=CHUNKS_AT_ONCE))
    try:
        for found in result:
            if anonymous + len(ids) >= enough:
                return None
            try:
                chunk_inputs(found, _payload(found))
                chunk_ids = decode_customer_ids(found.customer_ids, found.row_count)
            except BadChunk as problem:
                left_out(session, found.id, problem)
                continue
            ids.update(customer_id for customer_id in chunk_ids if customer_id is not None)
            anonymous += chunk_ids.count(None)
    finally:
        result.close()
    total = anonymous + len(ids)
    return total if total < enough else None
