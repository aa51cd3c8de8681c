"""The browse order of a run's rows: how a column sorts and which rows a filter keeps, shared by the read-and-sort
path and the index written beside the run, so both answer the same pages."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from app.services.runs.heads import sort_order
from app.services.scoring.validation import numbers


def sort_values(column: pa.ChunkedArray | pa.Array, *, comma: bool) -> pa.ChunkedArray | pa.Array:
    """A text input column sorts by its numbers, read as the scorer read them ("99,5" in a decimal-comma run), when
    most of its filled values are numbers, those that are none last (NaN); else it sorts as text."""
    if not pa.types.is_string(column.type):
        return column
    read, _ = numbers(column, decimal_comma=comma)
    found = int(np.count_nonzero(~np.isnan(read)))
    blank = int(pc.sum(pc.fill_null(pc.equal(pc.utf8_trim_whitespace(column), ""), True)).as_py() or 0)
    # One "abc" in a column of visits must not turn its order into text order; a Gender column stays text.
    if found <= len(read) - found - blank:
        return column
    return pa.array(read, pa.float64())


def column_order(values: pa.ChunkedArray | pa.Array, *, descending: bool) -> np.ndarray:
    """Positions of `values` in order: stable (ties in row order), nulls last, numbers as numbers."""
    if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
        return sort_order(values, descending=descending)
    order = "descending" if descending else "ascending"
    return pc.array_sort_indices(values, order=order, null_placement="at_end").to_numpy()


def filter_mask(
    table: pa.Table, *, segment: str | None, atypical: bool | None, out_of_range: bool | None
) -> np.ndarray | None:
    """Which rows the filters keep (None when no filter is asked): a segment by name or id, and the flags."""
    mask = None
    for condition in (
        _segment_mask(table, segment) if segment else None,
        None if atypical is None else pc.equal(table["is_atypical"], atypical),
        None if out_of_range is None else pc.equal(table["out_of_range"], out_of_range),
    ):
        if condition is not None:
            mask = condition if mask is None else pc.and_(mask, condition)
    if mask is None:
        return None
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False).astype(bool, copy=False)


def segment_id_of(segment: str) -> int | None:
    """The segment id a segment filter names, or None when it is a name: plain ASCII digits within int64 only."""
    # str.isdigit holds for "²", which int() refuses, and for "١", which it reads: neither is an id here.
    if not (segment.isascii() and segment.isdigit()):
        return None
    value = int(segment)
    return value if value <= np.iinfo(np.int64).max else None


def _segment_mask(table: pa.Table, segment: str) -> pa.ChunkedArray:
    segment_id = segment_id_of(segment)
    if segment_id is not None and "segment_id" in table.column_names:
        return pc.equal(table["segment_id"], segment_id)
    return pc.equal(table["segment_name"], segment)


def take_rows(table: pa.Table, positions: np.ndarray) -> pa.Table:
    """The rows at `positions`, in that order, from a table of one or many record batches.

    Arrow's take on a table of many chunks first concatenates them (40-60 ms for a memory-mapped 1M-row run): the
    rows are taken batch by batch instead, then put back in order.
    """
    positions = np.asarray(positions, dtype=np.int64)
    batches = table.to_batches()
    if len(batches) <= 1 or not len(positions):
        return table.take(pa.array(positions))
    starts = np.cumsum([0] + [batch.num_rows for batch in batches])
    which = np.searchsorted(starts, positions, side="right") - 1
    grouped = np.argsort(which, kind="stable")
    pieces = []
    for number in np.unique(which):
        inside = positions[grouped][which[grouped] == number] - starts[number]
        pieces.append(batches[number].take(pa.array(inside)))
    gathered = pa.Table.from_batches(pieces, table.schema)
    return gathered.take(pa.array(np.argsort(grouped)))
