"""The prediction log read as arrays: the same rows, in the same order, as `log_reader.read_log`, a column at a time.

Readers that reduce many rows (the drift windows, the over-time series) take them so: a chunk's payload is already
columnar, so its rows never become Python objects, and the per-row table's parts are turned into arrays once. The
merge of the two tables and the limit follow `read_log` exactly (tests hold the two to the same rows).
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from app.db.chunk_payload import BadChunk, decode_customer_ids
from app.services.monitoring.log_reader import PART_ROWS, LogFilter, chunk_inputs, chunk_parts, per_row_parts
from app.services.monitoring.log_rows import SHARED_COLUMNS

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = _EPOCH.replace(tzinfo=None)
_MICROSECOND = timedelta(microseconds=1)
# The columns a block holds and their dtypes: times as microseconds since the epoch (UTC), ids and text as objects.
_DTYPES: dict[str, Any] = {
    "ref": np.int64,
    "created_at": np.int64,
    "segment_id": np.int64,
    "distance": np.float64,
    "confidence": np.float64,
    "is_atypical": bool,
    "out_of_range": bool,
    "customer_id": object,
    **{name: object for name in SHARED_COLUMNS if name != "created_at"},
}


def micros(moment: datetime) -> int:
    """A logged time as microseconds since the epoch: UTC, naive as SQLite gives it or aware as PostgreSQL does."""
    return (moment - (_NAIVE_EPOCH if moment.tzinfo is None else _EPOCH)) // _MICROSECOND


def moment(value: int) -> datetime:
    """A logged time back from its microseconds, aware UTC."""
    return _EPOCH + timedelta(microseconds=int(value))


@dataclass(frozen=True, slots=True)
class LogBlock:
    """Logged predictions in the order read, newest first, an array a column."""

    size: int
    columns: dict[str, np.ndarray]
    # By feature name: which rows have it (a per-row row may lack one), and its values, NaN where they do not.
    inputs: dict[str, tuple[np.ndarray, np.ndarray]]

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, cut: slice) -> "LogBlock":
        return LogBlock(
            len(range(self.size)[cut]),
            {name: values[cut] for name, values in self.columns.items()},
            {name: (present[cut], values[cut]) for name, (present, values) in self.inputs.items()},
        )


def empty_block(columns: Sequence[str]) -> LogBlock:
    """A block of no rows with `columns`."""
    return LogBlock(0, {name: np.empty(0, _DTYPES[name]) for name in columns if name != "inputs"}, {})


def join(blocks: Sequence[LogBlock]) -> LogBlock:
    """The blocks one after the other as one block (a feature some lack is absent from their rows)."""
    if len(blocks) == 1:
        return blocks[0]
    columns = {name: np.concatenate([block.columns[name] for block in blocks]) for name in blocks[0].columns}
    inputs = {}
    for name in {name for block in blocks for name in block.inputs}:
        present = [block.inputs[name][0] if name in block.inputs else np.zeros(len(block), bool) for block in blocks]
        values = [block.inputs[name][1] if name in block.inputs else np.full(len(block), np.nan) for block in blocks]
        inputs[name] = (np.concatenate(present), np.concatenate(values))
    return LogBlock(sum(map(len, blocks)), columns, inputs)


def read_blocks(
    session: Session,
    *,
    columns: Sequence[str],
    where: LogFilter,
    limit: int,
    newest_rows: int | None = None,
    part_rows: int = PART_ROWS,
) -> Iterator[LogBlock]:
    """`read_log`'s rows (created_at as `micros`) as blocks of up to `part_rows` rows, newest first."""
    # Columns whose type is one for every row: `ref`, inputs, the numbers and flags, customer_id, the shared ones.
    unknown = set(columns) - {*_DTYPES, "inputs"}
    if unknown:
        raise ValueError(f"the prediction log's arrays have no column {sorted(unknown)[0]!r}")
    if limit <= 0:
        return
    # The merge needs every row's time and the per-row order its id: both are read whatever the caller wants.
    wanted = list(dict.fromkeys(("created_at", "ref", *columns)))
    per_row = per_row_parts(session, wanted, where, limit, newest_rows, columnar=True)
    chunks = chunk_parts(session, wanted, where, newest_rows, _chunk_block)
    parts: list[LogBlock] = []
    held = taken = 0
    try:
        for block in _merged((_rows_block(part, wanted) for part in per_row), chunks):
            block = block[: limit - taken]
            parts.append(block)
            held += len(block)
            taken += len(block)
            while held >= part_rows:
                whole = join(parts)
                yield _only(whole[:part_rows], columns)
                parts, held = [whole[part_rows:]], held - part_rows
            if taken >= limit:
                break
    finally:
        # Their cursors now, not when collected (see read_log).
        per_row.close()
        chunks.close()
    if held:
        yield _only(join(parts), columns)


def read_columns(session: Session, *, columns: Sequence[str], where: LogFilter, limit: int) -> LogBlock:
    """`read_blocks`' rows in one block."""
    blocks = list(read_blocks(session, columns=columns, where=where, limit=limit, part_rows=max(limit, 1)))
    return join(blocks) if blocks else empty_block(columns)


def _only(block: LogBlock, columns: Sequence[str]) -> LogBlock:
    """The block with the columns asked for alone."""
    return LogBlock(
        block.size,
        {name: block.columns[name] for name in columns if name != "inputs"},
        block.inputs if "inputs" in columns else {},
    )


def _merged(per_row: Iterator[LogBlock], chunks: Iterator[tuple[tuple, LogBlock]]) -> Iterator[LogBlock]:
    """Blocks newest first, in `log_reader._merged`'s order of rows."""
    # A change to that order is made in both; tests/services/monitoring/test_log_columns.py holds them to each other.
    # As there: a per-row part goes whole while its last row is newer than the next chunk, else it is cut before its
    # first row that is not (at one time, the chunk comes first). Per-row ids need not follow their times.
    part, at = _next(per_row), 0
    for (created_at, _, _), block in chunks:
        chunk_time = micros(created_at)
        while part is not None and part.columns["created_at"][-1] > chunk_time:
            yield part[at:]
            part, at = _next(per_row), 0
        if part is not None:
            not_newer = np.flatnonzero(part.columns["created_at"][at:] <= chunk_time)
            end = at + int(not_newer[0]) if len(not_newer) else len(part)
            if end > at:
                yield part[at:end]
            at = end
        yield block
    while part is not None:
        yield part[at:]
        part, at = _next(per_row), 0


def _next(parts: Iterator[LogBlock]) -> LogBlock | None:
    """The next part, None at the end (or at an empty part, where `log_reader._merged` stops too)."""
    part = next(parts, None)
    return part if part else None


def _rows_block(part: list[tuple], columns: Sequence[str]) -> LogBlock:
    """A part of the per-row table (a tuple of values a column, times as stored) as a block."""
    n = len(part[0]) if part else 0
    if not n:
        return empty_block(columns)
    arrays, inputs = {}, {}
    for name, values in zip(columns, part, strict=True):
        if name == "inputs":
            inputs = _inputs_of(values)
        elif name == "created_at":
            arrays[name] = _stored_times(values)
        elif _DTYPES[name] is object:
            arrays[name] = np.empty(n, object)
            arrays[name][:] = values
        else:
            arrays[name] = np.fromiter(values, _DTYPES[name], n)
    return LogBlock(n, arrays, inputs)


def _stored_times(values: Sequence[Any]) -> np.ndarray:
    """Times as the database gives them as `micros`: SQLite's text (naive UTC), PostgreSQL's aware datetimes."""
    if not isinstance(values[0], str):
        return np.fromiter(map(micros, values), np.int64, len(values))
    # SQLite's writers all store "YYYY-MM-DD HH:MM:SS.ffffff", which numpy reads in one C call a part; any other text
    # (a row written by hand) is read one by one, so that numpy never guesses at an offset.
    if set(map(len, values)) == {26}:
        try:
            return np.array(values, dtype="datetime64[us]").view(np.int64)
        except ValueError:
            pass
    return np.fromiter((micros(datetime.fromisoformat(value)) for value in values), np.int64, len(values))


def _inputs_of(values: Sequence[dict[str, Any]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Rows' inputs (dicts by feature name) as, per name, which rows have it and its values (NaN where not)."""
    inputs = {}
    for name in {name for row in values for name in row}:
        present = np.fromiter((name in row for row in values), bool, len(values))
        inputs[name] = (present, np.array([row.get(name, np.nan) for row in values], dtype=np.float64))
    return inputs


def _chunk_block(found: Any, columns: Sequence[str], payload: dict[str, Any]) -> LogBlock:
    """A chunk row's predictions as a block, newest (its last) first; BadChunk where `_chunk_rows` raises it."""
    n = found.row_count
    arrays, inputs = {}, {}
    for name in columns:
        if name == "ref":
            arrays[name] = np.full(n, -found.id, np.int64)
        elif name == "created_at":
            arrays[name] = np.full(n, micros(found.created_at), np.int64)
        elif name in SHARED_COLUMNS:
            arrays[name] = np.full(n, getattr(found, name), object)
        elif name == "inputs":
            values = chunk_inputs(found, payload)
            # Copies: a view would keep the whole payload alive as long as the window holds the values.
            inputs = {feature: (np.ones(n, bool), values[::-1, i].copy()) for i, feature in enumerate(found.features)}
        elif name == "customer_id":
            arrays[name] = np.empty(n, object)
            arrays[name][:] = decode_customer_ids(found.customer_ids, n)[::-1]
        elif name in payload:
            arrays[name] = payload[name][::-1].astype(_DTYPES[name])
        else:
            # The writer stores every one of these columns: a payload without one is not one this code wrote.
            raise BadChunk(f"a prediction chunk payload without {name}")
    return LogBlock(n, arrays, inputs)
