"""First pages without reading the run: what a fresh worker answers before it has read and sorted a whole run.

Once a run is kept (by the child process that then writes its index, see `index`) the first `HEAD_ROWS` customers
of each built-in sort are written, in order, to a small Parquet file beside the run (`runs/heads/<id>.parquet`):
they answer while the index is being written. An unfiltered page inside those rows is read from it; an unfiltered
page in file order reads only the row groups it covers. Both answer exactly what the full read would (tests compare
them); without an index, every other page reads and sorts the run once.
"""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from app.services.runs.store import heads_path

# A page's limit is at most 1,000: the first page of any limit, and the next ones up to row 1,000, come from here.
HEAD_ROWS = 1_000
HEAD_SORTS = ("distance", "-distance", "confidence", "-confidence")
# A smaller run is read and sorted whole in well under 100 ms: it gets no heads file (4,000 rows, under 1% of a run
# this large, and not counted in RESULTS_MAX_BYTES).
HEADS_FROM_ROWS = 50_000


def sort_order(values: pa.ChunkedArray | pa.Array, *, descending: bool) -> np.ndarray:
    """Row positions of a numeric column in order, stable (ties in file order), nulls last: the browse order."""
    # numpy's stable sort of float64 is about three times Arrow's here; nulls become NaN, which sorts last.
    numbers = values.cast(pa.float64()).to_numpy(zero_copy_only=False)
    return np.argsort(-numbers if descending else numbers, kind="stable")


def write_heads(run_file: Path, *, rows: int = HEAD_ROWS) -> Path:
    """Write the heads file of a run: the first `rows` customers of each built-in sort, one sort after another.

    Reads the two sort columns whole, then only the row groups holding a wanted customer, one at a time: the server
    that just streamed a million-row file does not hold that file in memory to write 4,000 rows.
    """
    parquet = pq.ParquetFile(run_file)
    keys = parquet.read(columns=sorted({sort.removeprefix("-") for sort in HEAD_SORTS}))
    orders = [sort_order(keys[sort.removeprefix("-")], descending=sort.startswith("-"))[:rows] for sort in HEAD_SORTS]
    del keys
    wanted = np.unique(np.concatenate(orders))  # ascending row positions
    pieces, start = [], 0
    for group in range(parquet.metadata.num_row_groups):
        size = parquet.metadata.row_group(group).num_rows
        inside = wanted[(wanted >= start) & (wanted < start + size)]
        if len(inside):
            pieces.append(parquet.read_row_group(group).take(pa.array(inside - start)))
        start += size
    gathered = pa.concat_tables(pieces)  # the wanted rows, in row order
    parts = [gathered.take(pa.array(np.searchsorted(wanted, order))) for order in orders]
    target = heads_path(run_file)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    pq.write_table(pa.concat_tables(parts), partial, compression="zstd")
    partial.replace(target)
    return target


def head_page(run_file: Path, *, sort: str, offset: int, limit: int, total: int) -> pa.Table | None:
    """The rows of an unfiltered page of a built-in sort from the heads file, or None when it cannot answer."""
    if sort not in HEAD_SORTS:
        return None
    rows = min(HEAD_ROWS, total)
    if offset + limit > rows and rows < total:
        return None
    path = heads_path(run_file)
    try:
        heads = pq.read_table(path)
    except (OSError, pa.ArrowException):
        return None
    if heads.num_rows != rows * len(HEAD_SORTS):
        return None
    start = HEAD_SORTS.index(sort) * rows + offset
    return heads.slice(start, max(0, min(offset + limit, rows) - offset))


def file_order_page(run_file: Path, *, offset: int, limit: int) -> tuple[pa.Table, int]:
    """The rows of an unfiltered page in file order, reading only the row groups it covers; and the run's row count."""
    parquet = pq.ParquetFile(run_file, memory_map=True)
    groups, first, start = [], None, 0
    for index in range(parquet.metadata.num_row_groups):
        size = parquet.metadata.row_group(index).num_rows
        if start + size > offset and start < offset + limit:
            groups.append(index)
            first = start if first is None else first
        start += size
    if not groups:
        return parquet.schema_arrow.empty_table(), start
    table = parquet.read_row_groups(groups)
    return table.slice(offset - first, limit), start
