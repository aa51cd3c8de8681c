"""The RFM build on a Dask cluster, for transaction files beyond one machine: the same per-block rules on each
partition, the partials merged on the client. Connects as the Dask scoring engine does (a LocalCluster unless a
scheduler address is given)."""

from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from app.core.errors import InvalidDataset
from app.models.rfm.aggregate import Counts, Partial, Partials, block_partial
from app.models.rfm.build import RfmResult, finish, prepare, until_of
from app.models.rfm.columns import RfmColumns
from app.models.rfm.dates import DateParser
from app.models.rfm.source import CsvLayout
from app.models.segmentations.spec import RfmOptions

PARTITION_BYTES = 64 << 20


def _numbers(values: pa.Array, decimal: str, name: str) -> pa.Array:
    """A text column as numbers (empty as null, decimal commas read); InvalidDataset naming the column if not."""
    values = pc.utf8_trim_whitespace(values)
    values = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
    if decimal == ",":
        values = pc.replace_substring(values, ",", ".")
    try:
        return pc.cast(values, pa.float64())
    except pa.ArrowInvalid as exc:
        raise InvalidDataset(f"the {name!r} column holds a value that is not a number: {exc}") from None


def partition_partial(
    frame: pd.DataFrame,
    columns: RfmColumns,
    layout: CsvLayout,
    formats: list[str],
    fixed: bool,
    until: object,
) -> tuple[list[bytes | None], Counts, list[str]]:
    """One partition (all text) as a partial (its tables as Arrow IPC bytes), its counts, and the date formats it
    used.

    IPC bytes rather than a table: Dask's zero-copy frames can leave Arrow buffers unaligned, which Arrow's
    group-by on the client warns about and may run slower on."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    arrays = {}
    for name in table.column_names:
        column = pc.cast(table.column(name).combine_chunks(), pa.string())
        arrays[name] = _numbers(column, layout.decimal, name) if name in columns.amount_columns else column
    dates = DateParser(columns.date, list(formats), fixed=fixed)
    counts = Counts()
    partial = block_partial(pa.record_batch(arrays), columns, dates, counts, until=until)
    return [_ipc(partial.customers), _ipc(partial.orders)], counts, dates.formats


def _ipc(table: pa.Table | None) -> bytes | None:
    if table is None:
        return None
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _table(data: bytes | None) -> pa.Table | None:
    return None if data is None else pa.ipc.open_stream(data).read_all()


def build_rfm_dask(
    path: str | Path,
    *,
    options: RfmOptions | None = None,
    reference_date: date | None = None,
    scheduler: str | None = None,
    n_workers: int = 2,
    partition_bytes: int = PARTITION_BYTES,
) -> RfmResult:
    """Build the customer table of a transactions CSV on Dask: read_csv as text, one partial per partition,
    merged and finished here exactly as the local build does."""
    import dask
    import dask.dataframe as dd

    from app.services.scoring.dask import dask_client  # Dask only when asked for

    path = Path(path)
    options = options or RfmOptions()
    if not path.is_file():
        raise InvalidDataset(f"transactions file not found: {path}")
    layout, columns, dates = prepare(path, options)
    needed = [name for name in (columns.customer_id, columns.date, columns.order_id) if name]
    needed += columns.amount_columns
    frame = dd.read_csv(
        str(path),
        sep=layout.delimiter,
        names=layout.names,
        header=0,
        usecols=needed,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        encoding="utf-8-sig",
        blocksize=partition_bytes,
    )
    until = until_of(reference_date)
    parts = [
        dask.delayed(partition_partial)(part, columns, layout, dates.formats, dates.fixed, until)
        for part in frame.to_delayed()
    ]
    with dask_client(scheduler, n_workers) as client:
        results = client.gather(client.compute(parts))
    counts = Counts()
    partials = Partials(by_order=columns.order_id is not None)
    for (customers, orders), part_counts, formats in results:
        counts.merge(part_counts)
        dates.formats.extend(fmt for fmt in formats if fmt not in dates.formats)
        partials.add(Partial(_table(customers), _table(orders)))
    return finish(
        partials,
        counts=counts,
        options=options,
        reference_date=reference_date,
        columns=columns,
        dates=dates,
        layout=layout,
    )
