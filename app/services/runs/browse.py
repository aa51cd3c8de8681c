"""A run's customers: filtered by segment and flags, sorted by a score or any input column, paged by cursor.

The run's rows are read once into memory and each (filter, sort) is sorted once into an index of row positions,
both kept for the few runs read last; a page is then a slice of that index. A run never changes, so a cursor (the
position in the index, with a digest of the query it belongs to) stays valid as long as the run is kept.
"""

import base64
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from app.core.errors import InvalidRequest
from app.services.runs.heads import file_order_page, head_page, sort_order
from app.services.runs.values import sortable_text

MAX_LIMIT = 1_000
SCORE_SORTS = ("distance", "confidence")
# Runs held in memory (each as large as its Parquet file, decompressed) and sorted indexes held per process.
TABLES_HELD = 2
INDEXES_HELD = 16


@dataclass(frozen=True)
class CustomerQuery:
    """What a browse asks: filters, the sort (a column, `-` first for descending), and the page."""

    segment: str | None = None
    atypical: bool | None = None
    out_of_range: bool | None = None
    sort: str | None = None
    cursor: str | None = None
    limit: int = 50
    # The run's file used decimal commas (a ';' file): its numbers sort as the scoring read them.
    decimal_comma: bool = False

    def key(self, run_id: str) -> str:
        """A digest of the run and of everything but the page: what a cursor must belong to."""
        text = repr((run_id, self.segment, self.atypical, self.out_of_range, self.sort))
        return hashlib.sha256(text.encode()).hexdigest()[:12]


class _Lru(OrderedDict):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


# Per process, under one lock: a run's table and indexes are read-only once built.
_lock = threading.Lock()
_tables = _Lru(TABLES_HELD)
_indexes = _Lru(INDEXES_HELD)


def read_run(path: Path) -> pa.Table:
    """The run's rows, read once and held for the next pages."""
    key = (str(path), path.stat().st_mtime_ns)
    with _lock:
        table = _tables.get(key)
    if table is None:
        # One chunk per column: a page's rows are then taken in well under a millisecond, not one take per row group.
        table = pq.read_table(path, memory_map=True).combine_chunks()
        with _lock:
            _tables.put(key, table)
    return table


def column_names(path: Path) -> list[str]:
    """The run's column names, from its file's footer (no rows read)."""
    return list(pq.read_schema(path, memory_map=True).names)


def _segment_mask(table: pa.Table, segment: str) -> pa.Array:
    if segment.isdigit() and "segment_id" in table.column_names:
        return pc.equal(table["segment_id"], int(segment))
    return pc.equal(table["segment_name"], segment)


def _sort_values(column: pa.ChunkedArray, *, comma: bool) -> pa.ChunkedArray:
    """A text input column sorts as numbers when every value reads as one (Age, Income; "99,5" in a decimal-comma
    run), else as text."""
    if not pa.types.is_string(column.type):
        return column
    try:
        return pc.cast(sortable_text(column, comma=comma), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return column


def _index(table: pa.Table, query: CustomerQuery) -> np.ndarray:
    """Row positions matching the filters, in the asked order (file order when no sort is asked)."""
    mask = None
    for condition in (
        _segment_mask(table, query.segment) if query.segment else None,
        None if query.atypical is None else pc.equal(table["is_atypical"], query.atypical),
        None if query.out_of_range is None else pc.equal(table["out_of_range"], query.out_of_range),
    ):
        if condition is not None:
            mask = condition if mask is None else pc.and_(mask, condition)
    positions = np.arange(table.num_rows) if mask is None else np.flatnonzero(pc.fill_null(mask, False))
    if not query.sort:
        return positions
    name = query.sort.removeprefix("-")
    if name not in table.column_names:
        sortable = ", ".join([*SCORE_SORTS, "an input column"])
        raise InvalidRequest(f"sort: the run has no column {name!r}; sort by {sortable} (prefix - to reverse)")
    values = _sort_values(table[name], comma=query.decimal_comma)
    if mask is not None:
        values = values.take(pa.array(positions))
    descending = query.sort.startswith("-")
    if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
        picks = sort_order(values, descending=descending)
    else:
        order = "descending" if descending else "ascending"
        picks = pc.array_sort_indices(values, order=order, null_placement="at_end").to_numpy()
    return positions[picks]


def _cursor(offset: int, key: str) -> str:
    return base64.urlsafe_b64encode(f"{offset}:{key}".encode()).decode().rstrip("=")


def _offset(cursor: str | None, key: str) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        offset, owner = text.split(":", 1)
        if owner == key:
            return int(offset)
    except (ValueError, UnicodeDecodeError):
        pass
    raise InvalidRequest("cursor: not a cursor of this query; start again without one (filters and sort must match)")


def customer_index(path: Path, run_id: str, query: CustomerQuery) -> tuple[pa.Table, np.ndarray]:
    """The run's table and the positions the query selects, in order (sorted once per query, then held)."""
    table = read_run(path)
    key = (str(path), query.key(run_id))
    with _lock:
        index = _indexes.get(key)
    if index is None:
        index = _index(table, query)
        with _lock:
            _indexes.put(key, index)
    return table, index


def _quick_page(path: Path, query: CustomerQuery, offset: int) -> tuple[pa.Table, int] | None:
    """An unfiltered page answered without reading the whole run, while this worker has not read it: file order
    from the row groups the page covers, a built-in sort's first rows from the run's heads file."""
    if query.segment or query.atypical is not None or query.out_of_range is not None:
        return None
    with _lock:
        if (str(path), path.stat().st_mtime_ns) in _tables:
            return None  # read already: the held table answers in a few milliseconds
    if not query.sort:
        return file_order_page(path, offset=offset, limit=query.limit)
    total = pq.ParquetFile(path).metadata.num_rows
    rows = head_page(path, sort=query.sort, offset=offset, limit=query.limit, total=total)
    return None if rows is None else (rows, total)


def browse_customers(*, path: Path, run_id: str, query: CustomerQuery) -> dict[str, Any]:
    """One page of a run's customers: `items`, `next_cursor` (None on the last page) and `total` matching."""
    if not 1 <= query.limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit: between 1 and {MAX_LIMIT}")
    key = query.key(run_id)
    offset = _offset(query.cursor, key)
    quick = _quick_page(path, query, offset)
    if quick is not None:
        rows, total = quick
        end = offset + rows.num_rows
        return {"items": rows.to_pylist(), "next_cursor": _cursor(end, key) if end < total else None, "total": total}
    table, index = customer_index(path, run_id, query)
    page = index[offset : offset + query.limit]
    items = table.take(pa.array(page)).to_pylist() if len(page) else []
    end = offset + len(page)
    return {"items": items, "next_cursor": _cursor(end, key) if end < len(index) else None, "total": len(index)}


def matching_tables(
    *, path: Path, run_id: str, query: CustomerQuery, chunk_rows: int = 16_384
) -> tuple[list[str], Iterator[pa.Table]]:
    """The run's column names, and every customer the query selects, in its order, as tables of `chunk_rows` rows
    (for the CSV export)."""
    table, index = customer_index(path, run_id, query)
    chunks = (table.take(pa.array(index[start : start + chunk_rows])) for start in range(0, len(index), chunk_rows))
    return table.column_names, chunks
