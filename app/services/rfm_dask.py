"""The RFM build on a Dask cluster, for transaction files beyond one machine: the file cut into byte ranges that
start on records (as the Dask scoring engine cuts it), each range read and summed by the local build's own chunk
reader on a worker (the same bad lines, counted the same way), the partials merged on the client. Connects as the
Dask scoring engine does (a LocalCluster unless a scheduler address is given)."""

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa

from app.core.errors import InvalidDataset
from app.models.rfm.aggregate import Counts, Partial, Partials
from app.models.rfm.bad_rows import future_after
from app.models.rfm.build import Reading, RfmResult, Summed, finish, prepare, sum_chunk, until_of
from app.models.rfm.chunks import header_end
from app.models.rfm.columns import RfmColumns
from app.models.rfm.dates import DateParser
from app.models.rfm.source import CsvLayout
from app.models.segmentations.spec import RfmOptions
from app.utils.csv_ranges import ByteRange, file_record_ranges

PARTITION_BYTES = 64 << 20

# A partition's sums as they travel back: the partial's tables as Arrow IPC bytes, its counts, its date formats.
Shipped = tuple[list[bytes | None], Summed, list[str]]


def partition_partial(
    path: str,
    part: ByteRange,
    body: int,
    layout: CsvLayout,
    columns: RfmColumns,
    formats: list[str],
    fixed: bool,
    until: datetime | None,
    latest: datetime,
) -> Shipped:
    """One byte range of the file (its records after the header) summed by the local build's chunk reader; the
    partial's tables as IPC bytes, its counts, and the date formats it used (a date parser holds a lock, which
    does not travel: its formats do).

    IPC bytes rather than tables: Dask's zero-copy frames can leave Arrow buffers unaligned, which Arrow's
    group-by on the client warns about and may run slower on."""
    start = max(part.start, body)
    with open(path, "rb") as file:
        file.seek(start)
        data = file.read(max(0, part.stop - start))
    dates = DateParser(columns.date, list(formats), fixed=fixed)
    try:
        summed = sum_chunk(memoryview(data), Reading(layout, columns, dates, until, latest))
    except pa.ArrowInvalid:
        raise InvalidDataset(
            f"the transactions file cannot be cut into parts near byte {start:,} (a quote inside an unquoted "
            "value?): build it without the Dask engine"
        ) from None
    partial = summed.partial
    tables = [None, None, None] if partial is None else [partial.customers, partial.orders, partial.bad]
    return [_ipc(table) for table in tables], replace(summed, partial=None), dates.formats


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
    """Build the customer table of a transactions CSV on Dask: one partial per byte range, merged and finished here
    exactly as the local build does (bad lines counted and left out)."""
    from app.services.scoring.dask import dask_client  # Dask only when asked for

    path = Path(path)
    options = options or RfmOptions()
    if not path.is_file():
        raise InvalidDataset(f"transactions file not found: {path}")
    layout, columns, dates = prepare(path, options)
    reading = Reading(layout, columns, dates, until_of(reference_date), future_after())
    body = header_end(path)
    with dask_client(scheduler, n_workers) as client:
        parts = file_record_ranges(path, body, partition_bytes, client=client)
        shared = (layout, columns, dates.formats, dates.fixed, reading.until, reading.latest)
        futures = [client.submit(partition_partial, str(path), part, body, *shared, pure=False) for part in parts]
        results = client.gather(futures)
    counts = Counts()
    partials = Partials(by_order=columns.order_id is not None)
    for tables, summed, formats in results:
        counts.merge(summed.counts)
        for fmt in formats:  # as the local engine learns them: never one way round beside the other
            dates.add_format(fmt)
        customers, orders, bad = (_table(data) for data in tables)
        if customers is not None:
            partials.add(Partial(customers, orders, bad))
    return finish(
        partials, counts=counts, options=options, reference_date=reference_date, columns=columns, dates=dates,
        layout=layout,
    )  # fmt: skip
