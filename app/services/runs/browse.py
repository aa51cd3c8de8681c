"""A run's customers: filtered by segment and flags, sorted by a score or any input column, paged by cursor.

Each (filter, sort) becomes an array of row positions in order, held for the next pages; a page is a slice of it
and a take of those rows. A large run's positions come from its index (`index`: memory-mapped rows and sorted
orders, written once the run is kept), so even a worker that never read the run answers any page in milliseconds;
without an index the run's rows are read once into memory and sorted, held for the few runs read last. Both give the
same order. A run never changes, so a cursor (the position in that order, with a digest of the query it belongs
to) stays valid as long as the run is kept.
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
import pyarrow.parquet as pq

from app.core.errors import InvalidRequest
from app.services.runs.heads import file_order_page, head_page
from app.services.runs.index import RunIndex, open_index
from app.services.runs.ordering import column_order, filter_mask, segment_id_of, sort_values, take_rows

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


def _sort_column(table: pa.Table, sort: str) -> str:
    name = sort.removeprefix("-")
    if name not in table.column_names:
        sortable = ", ".join([*SCORE_SORTS, "an input column"])
        raise InvalidRequest(f"sort: the run has no column {name!r}; sort by {sortable} (prefix - to reverse)")
    return name


def _mask(table: pa.Table, query: CustomerQuery) -> np.ndarray | None:
    return filter_mask(table, segment=query.segment, atypical=query.atypical, out_of_range=query.out_of_range)


def _index(table: pa.Table, query: CustomerQuery) -> np.ndarray:
    """Row positions matching the filters, in the asked order (file order when no sort is asked)."""
    mask = _mask(table, query)
    positions = np.arange(table.num_rows) if mask is None else np.flatnonzero(mask)
    if not query.sort:
        return positions
    values = sort_values(table[_sort_column(table, query.sort)], comma=query.decimal_comma)
    if mask is not None:
        values = values.take(pa.array(positions))
    return positions[column_order(values, descending=query.sort.startswith("-"))]


class FilteredOrder:
    """The positions of an order (file order when None) where a mask holds, found only as far as a page asks: the
    first page of a filtered list scans the first rows of the order, not all of them; later pages scan on, in
    blocks that double, and what was found is kept for the next pages."""

    FIRST_BLOCK = 65_536

    def __init__(self, order: np.ndarray | None, mask: np.ndarray) -> None:
        self._order, self._mask = order, mask
        self._total = int(np.count_nonzero(mask))
        self._found: list[np.ndarray] = []
        self._count = self._scanned = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._total

    def __getitem__(self, window: slice) -> np.ndarray:
        stop = self._total if window.stop is None else min(window.stop, self._total)
        with self._lock:
            rows = len(self._mask)
            while self._count < stop and self._scanned < rows:
                end = min(rows, self._scanned + max(self.FIRST_BLOCK, self._scanned))
                block = (
                    np.arange(self._scanned, end)
                    if self._order is None
                    else np.asarray(self._order[self._scanned : end], dtype=np.int64)
                )
                kept = block[self._mask[block]]
                self._found.append(kept)
                self._count += len(kept)
                self._scanned = end
            if len(self._found) > 1:
                self._found = [np.concatenate(self._found)]
            found = self._found[0] if self._found else np.empty(0, dtype=np.int64)
        return found[window]


def _indexed_mask(stored: RunIndex, query: CustomerQuery) -> np.ndarray | None:
    """`_mask` from the index's filter codes (the same rows); from the mapped columns where it has none."""
    wanted = []
    if query.segment:
        segment_id = segment_id_of(query.segment)
        by_id = segment_id is not None and "segment_id" in stored.table.column_names
        wanted.append(("segment_id", segment_id) if by_id else ("segment_name", query.segment))
    wanted += [(name, flag) for name, flag in (("is_atypical", query.atypical), ("out_of_range", query.out_of_range))
               if flag is not None]  # fmt: skip
    mask = None
    for column, value in wanted:
        rows = stored.equal(column, value)
        if rows is None:
            return _mask(stored.table, query)
        # In place: a new million-byte array costs more in page faults than the comparison itself.
        mask = rows if mask is None else np.logical_and(mask, rows, out=mask)
    return mask


def _indexed(stored: RunIndex, query: CustomerQuery) -> np.ndarray | range | FilteredOrder:
    """The same positions as `_index`, from the run's index: its sorted order, kept where the filters hold (a
    stable order filtered is the order of the filtered rows). File order unfiltered is a range: nothing to build."""
    table = stored.table
    mask = _indexed_mask(stored, query)
    if not query.sort:
        return range(table.num_rows) if mask is None else FilteredOrder(None, mask)
    order = stored.order(query.sort, decimal_comma=query.decimal_comma)
    if order is None:  # a column the index has no order for: sorted here, from the mapped rows
        name = _sort_column(table, query.sort)
        values = sort_values(table[name], comma=query.decimal_comma)
        order = column_order(values, descending=query.sort.startswith("-"))
    return order if mask is None else FilteredOrder(order, mask)


def _cursor(offset: int, key: str) -> str:
    return base64.urlsafe_b64encode(f"{offset}:{key}".encode()).decode().rstrip("=")


def _offset(cursor: str | None, key: str) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        offset, owner = text.split(":", 1)
        # A negative offset is no page: a 500 on a cold run's row groups, a next_cursor that never ends elsewhere.
        if owner == key and int(offset) >= 0:
            return int(offset)
    except (ValueError, UnicodeDecodeError):
        pass
    raise InvalidRequest("cursor: not a cursor of this query; start again without one (filters and sort must match)")


def _held(path: Path) -> pa.Table | None:
    with _lock:
        return _tables.get((str(path), path.stat().st_mtime_ns))


def customer_index(
    path: Path, run_id: str, query: CustomerQuery
) -> tuple[pa.Table, np.ndarray | range | FilteredOrder]:
    """The run's table and the positions the query selects, in order (sorted once per query, then held).

    A worker that has not read the run answers from its index when it has one (memory-mapped: no read, no sort);
    otherwise it reads and sorts the run.
    """
    table = _held(path)
    stored = open_index(path) if table is None else None
    if table is None:
        table = stored.table if stored is not None else read_run(path)
    key = (str(path), query.key(run_id))
    with _lock:
        index = _indexes.get(key)
    if index is None:
        index = _indexed(stored, query) if stored is not None else _index(table, query)
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
    if open_index(path) is not None:
        return None  # the index answers any page without reading the run
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
    items = take_rows(table, page).to_pylist() if len(page) else []
    end = offset + len(page)
    return {"items": items, "next_cursor": _cursor(end, key) if end < len(index) else None, "total": len(index)}


def matching_tables(
    *, path: Path, run_id: str, query: CustomerQuery, chunk_rows: int = 16_384
) -> tuple[list[str], Iterator[pa.Table]]:
    """The run's column names, and every customer the query selects, in its order, as tables of `chunk_rows` rows
    (for the CSV export)."""
    table, index = customer_index(path, run_id, query)
    chunks = (take_rows(table, index[start : start + chunk_rows]) for start in range(0, len(index), chunk_rows))
    return table.column_names, chunks
