"""The RFM build: a transactions CSV streamed in blocks to one row per customer, and a summary of what was read."""

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from app.core.errors import InvalidDataset
from app.models.rfm.aggregate import Counts, Partial, Partials, block_partial, day_after
from app.models.rfm.chunks import NoRecordEnd, header_end, record_chunks
from app.models.rfm.columns import RfmColumns, detect_columns
from app.models.rfm.dates import DateParser
from app.models.rfm.source import (
    CsvLayout,
    decimal_mark,
    open_blocks,
    read_chunk,
    read_layout,
    read_problem,
    read_sample,
)
from app.models.segmentations.spec import RfmOptions
from app.utils.files import atomic_replace

# Chunks of about this many bytes of CSV (some 200,000 rows of the online-retail file) are each parsed and summed on
# a worker thread: Arrow parses and groups with the GIL released, so the workers use as many cores.
CHUNK_BYTES = 16 << 20
WORKERS = min(4, os.cpu_count() or 1)
# The serial reader (for files the chunks cannot be cut from) joins its batches to about this many rows.
GROUP_ROWS = 256 * 1024
RFM_COLUMNS = (
    "customer_id", "recency_days", "frequency", "monetary",
    "first_purchase", "last_purchase", "returns", "non_positive",
)  # fmt: skip

Progress = Callable[[int, int], None]
Summed = tuple[Partial | None, Counts]


@dataclass(frozen=True)
class RfmResult:
    """One row per customer (RFM_COLUMNS, sorted by customer id) and the summary of the build, JSON-ready."""

    table: pa.Table
    summary: dict[str, Any]


def until_of(reference_date: date | None) -> datetime | None:
    """The first moment after the reference day: rows from then on are left out."""
    return None if reference_date is None else datetime.combine(reference_date + timedelta(days=1), time())


def build_rfm(
    path: str | Path,
    *,
    options: RfmOptions | None = None,
    reference_date: date | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    workers: int = WORKERS,
    progress: Progress | None = None,
) -> RfmResult:
    """Build the customer table of a transactions CSV in bounded memory: chunks of whole records parsed and
    grouped on worker threads, their partials merged in file order (so sums are the same on every run).
    `progress(bytes_read, file_bytes)` is called per chunk."""
    path = Path(path)
    options = options or RfmOptions()
    if not path.is_file():
        raise InvalidDataset(f"transactions file not found: {path}")
    layout, columns, dates = prepare(path, options)
    size = os.path.getsize(path)
    until = until_of(reference_date)
    counts = Counts()
    partials = Partials(by_order=columns.order_id is not None)

    def summarize(block: list[pa.RecordBatch]) -> Summed:
        block_counts = Counts()
        if not any(batch.num_rows for batch in block):
            return None, block_counts
        return block_partial(block, columns, dates, block_counts, until=until), block_counts

    def take(summed: Summed, done: int) -> None:
        partial, block_counts = summed
        counts.merge(block_counts)
        if partial is not None:
            partials.add(partial)
        if progress is not None:
            progress(done, size)

    def parse(data: memoryview) -> Summed:
        return summarize(read_chunk(data, layout, columns).to_batches())

    rest = _read_chunks(path, header_end(path), parse, take, names=layout.names, chunk_bytes=chunk_bytes,
                        workers=workers)  # fmt: skip
    if rest is not None:
        _read_serially(path, rest, layout, columns, summarize, take)
    if progress is not None:
        progress(size, size)
    return finish(partials, counts=counts, options=options, reference_date=reference_date, columns=columns,
                  dates=dates, layout=layout)  # fmt: skip


def _read_chunks(
    path: Path,
    start: int,
    parse: Callable[[memoryview], Summed],
    take: Callable[[Summed, int], None],
    *,
    names: list[str],
    chunk_bytes: int,
    workers: int,
) -> int | None:
    """Chunks parsed and summed on `workers` threads, taken in file order with a few read ahead (memory stays
    bounded); the offset to read on serially from when a chunk cannot be cut or parsed on its own, else None."""
    rest: int | None = None
    window: deque[tuple[int, int, Future]] = deque()
    pool = ThreadPoolExecutor(workers, thread_name_prefix="rfm")
    try:
        chunks = record_chunks(path, start, chunk_bytes)
        while True:
            try:
                offset, data = next(chunks)
            except StopIteration:
                break
            except NoRecordEnd as exc:
                rest = exc.offset
                break
            window.append((offset, offset + len(data), pool.submit(parse, data)))
            if len(window) > workers and (failed := _take_first(window, take, names)) is not None:
                return failed
        while window:
            if (failed := _take_first(window, take, names)) is not None:
                return failed
        return rest
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _take_first(window: deque, take: Callable[[Summed, int], None], names: list[str]) -> int | None:
    """Take the oldest chunk's sums; its offset when Arrow could not parse it on its own (for the serial reader)."""
    offset, end, future = window.popleft()
    try:
        summed = future.result()
    except pa.ArrowInvalid as exc:
        if "conversion error" in str(exc):
            raise read_problem(exc, names) from None
        return offset
    take(summed, end)
    return None


def _read_serially(
    path: Path,
    offset: int,
    layout: CsvLayout,
    columns: RfmColumns,
    summarize: Callable[[list[pa.RecordBatch]], Summed],
    take: Callable[[Summed, int], None],
) -> None:
    """The rest of the file from `offset` with Arrow's streaming reader, which follows quotes itself."""
    source, reader = open_blocks(path, layout, columns, offset=offset)
    try:
        pending: list[pa.RecordBatch] = []
        rows = 0
        for batch in _batches(reader, layout.names):
            pending.append(batch)
            rows += batch.num_rows
            if rows >= GROUP_ROWS:
                take(summarize(pending), source.tell())
                pending, rows = [], 0
        take(summarize(pending), source.tell())
    finally:
        source.close()


def _batches(reader: pa.RecordBatchReader, names: list[str]) -> Iterator[pa.RecordBatch]:
    """The reader's batches; Arrow's conversion error (a value that is not a number) named in the user's terms."""
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as exc:
            raise read_problem(exc, names) from None
        yield batch


def prepare(path: Path, options: RfmOptions) -> tuple[CsvLayout, RfmColumns, DateParser]:
    """The file's layout, its RFM columns and the date formats of its shapes, from the header and a sample."""
    layout = read_layout(path)
    columns = detect_columns(layout.names, options.columns)
    sample = read_sample(path, layout, [columns.date, *columns.amount_columns])
    layout = CsvLayout(layout.delimiter, layout.names, decimal_mark(layout, sample, columns.amount_columns))
    values = [value for value in sample.column(columns.date).to_pylist() if value]
    return layout, columns, DateParser.from_sample(columns.date, values, options.date_format)


def check_counts(counts: Counts, columns: RfmColumns, dates: DateParser) -> None:
    """InvalidDataset naming the column when a whole role is unusable: no ids, no readable date, no amount."""
    if counts.rows_read == 0:
        raise InvalidDataset("the transactions file has no rows under its header")
    if counts.rows_without_customer_id == counts.rows_read:
        raise InvalidDataset(f"no row has a customer id in the {columns.customer_id!r} column")
    if counts.dates_read == 0:
        tried = ", ".join(dates.formats) or "no format fits"
        raise InvalidDataset(
            f"no date in the {columns.date!r} column could be read (tried: {tried}); give its format as date_format, "
            "such as '%d/%m/%Y %H:%M'"
        )
    if counts.amounts_read == 0:
        named = " and ".join(repr(name) for name in columns.amount_columns)
        plural = "s are" if len(columns.amount_columns) > 1 else " is"
        raise InvalidDataset(f"every amount is missing: the {named} column{plural} empty on every row")


def finish(
    partials: Partials,
    *,
    counts: Counts,
    options: RfmOptions,
    reference_date: date | None,
    columns: RfmColumns,
    dates: DateParser,
    layout: CsvLayout | None = None,
) -> RfmResult:
    """Merged partials as the customer table, with the summary of the whole build."""
    check_counts(counts, columns, dates)
    by_order = columns.order_id is not None
    if not partials.rows:
        raise InvalidDataset("no transaction is left once rows without a customer id, date or amount are dropped")
    customers = partials.table()
    reference = reference_date or day_after(counts.latest)
    bought = pc.greater(customers.column("frequency"), 0)
    without_purchases = customers.num_rows - int(pc.sum(bought).as_py() or 0)
    customers = customers.filter(bought)
    if not customers.num_rows:
        raise InvalidDataset("no customer has a purchase: every line left is a return or a cancellation")
    table = rfm_table(customers, reference, options.monetary)
    non_positive = int(pc.sum(table.column("non_positive")).as_py() or 0)
    dropped = 0
    if options.non_positive == "drop" and non_positive:
        table = table.filter(pc.invert(table.column("non_positive")))
        dropped = non_positive
        if not table.num_rows:
            raise InvalidDataset("every customer's net spend is zero or less once returns are taken off")
    summary = {
        "rows_read": counts.rows_read,
        "rows_without_customer_id": counts.rows_without_customer_id,
        "cancellation_rows": counts.cancellation_rows,
        "unparseable_dates": counts.unparseable_dates,
        "rows_without_amount": counts.rows_without_amount,
        "rows_after_reference_date": counts.rows_after_reference_date,
        "date_formats": list(dates.formats),
        "reference_date": reference.isoformat(),
        "customers": table.num_rows,
        "customers_non_positive": non_positive,
        "customers_dropped": dropped,
        "customers_without_purchases": without_purchases,
        "columns": columns.to_dict(),
        "frequency": "orders" if by_order else "lines",
        "monetary": options.monetary,
        "non_positive": options.non_positive,
    }
    if layout is not None:
        summary.update(delimiter=layout.delimiter, decimal=layout.decimal)
    return RfmResult(table, summary)


def rfm_table(customers: pa.Table, reference: date, monetary: str) -> pa.Table:
    """Per-customer partial sums as RFM: recency in days to the reference day, orders, net total or average order
    value; sorted by customer id."""
    frequency = customers.column("frequency")
    net = pc.subtract(customers.column("spent"), customers.column("returned"))
    value = net if monetary == "total" else pc.divide(net, pc.cast(frequency, pa.float64()))
    last = customers.column("last")
    recency = pc.days_between(pc.cast(last, pa.date32()), pa.scalar(reference, pa.date32()))
    table = pa.table(
        {
            "customer_id": customers.column("customer_id"),
            "recency_days": pc.cast(recency, pa.int64()),
            "frequency": frequency,
            # Sums of prices carry float noise (0.1 + 0.2): rounded far below any currency's smallest unit. A
            # customer who returned as much as they bought is kept at 0 (flagged in non_positive): the model takes
            # log(1 + monetary), which a negative spend has none of.
            "monetary": pc.max_element_wise(pc.round(value, 6), 0.0),
            "first_purchase": customers.column("first"),
            "last_purchase": last,
            "returns": pc.round(customers.column("returned"), 6),
            "non_positive": pc.less_equal(net, 0),
        }
    )
    return table.sort_by("customer_id")


def build_customer_table(
    path: str | Path,
    target: str | Path,
    *,
    options: RfmOptions | None = None,
    reference_date: date | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Build the customer table of a transactions file into `target` (CSV, whole or not at all); the summary.

    What training and scoring of an RFM segmentation read: their own file is the customers, one row each.
    """
    result = build_rfm(path, options=options, reference_date=reference_date, progress=progress)
    with atomic_replace(Path(target)) as handle:
        pacsv.write_csv(result.table, handle, pacsv.WriteOptions(quoting_style="needed"))
    return result.summary
