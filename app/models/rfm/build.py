"""The RFM build: a transactions CSV streamed in blocks to one row per customer, and a summary of what was read."""

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from app.core.errors import InvalidDataset
from app.models.rfm.aggregate import CUSTOMER, Counts, Partial, Partials, block_partial, day_after
from app.models.rfm.bad_rows import (
    COUNTED,
    MALFORMED,
    future_after,
    reason,
    record_line,
    record_of,
    refusal,
    unclosed_quote,
    unusable_reason,
    value_lines,
)
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
Take = Callable[["Summed", int, int], None]


@dataclass(frozen=True)
class RfmResult:
    """One row per customer (RFM_COLUMNS, sorted by customer id), the summary of the build (JSON-ready), and the
    customers none of whose lines could be used, with why (customer_id, reason; sorted by customer id)."""

    table: pa.Table
    summary: dict[str, Any]
    unusable: pa.Table


@dataclass(frozen=True)
class Reading:
    """What every block of one file is read with: its layout and columns, the date formats, and the moments after
    which a line is left out (`until`, the reference date's end) or bad (`latest`, tomorrow)."""

    layout: CsvLayout
    columns: RfmColumns
    dates: DateParser
    until: datetime | None
    latest: datetime


@dataclass
class Summed:
    """A block's partial (None when it had no rows), its counts, and its first bad record: (its number from where
    its reader started, the reason's code)."""

    partial: Partial | None
    counts: Counts
    first_bad: tuple[int, int] | None = None


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
    reject: bool = False,
) -> RfmResult:
    """Build the customer table of a transactions CSV in bounded memory: chunks of whole records parsed and
    grouped on worker threads, their partials merged in file order (so sums are the same on every run).
    `progress(bytes_read, file_bytes)` is called per chunk. Bad lines (bad_rows.py) are counted and left out, or
    with `reject` the first one is refused, naming its line."""
    path = Path(path)
    options = options or RfmOptions()
    if not path.is_file():
        raise InvalidDataset(f"transactions file not found: {path}")
    layout, columns, dates = prepare(path, options)
    size = os.path.getsize(path)
    reading = Reading(layout, columns, dates, until_of(reference_date), future_after())
    counts = Counts()
    partials = Partials(by_order=columns.order_id is not None)

    def take(summed: Summed, start: int, done: int) -> None:
        if reject and summed.first_bad is not None:
            record, code = summed.first_bad
            raise refusal(record_line(path, start, record, layout.delimiter), code, columns)
        counts.merge(summed.counts)
        if summed.partial is not None:
            partials.add(summed.partial)
        if progress is not None:
            progress(done, size)

    rest = _read_chunks(path, header_end(path), lambda data: sum_chunk(data, reading), take, chunk_bytes=chunk_bytes,
                        workers=workers)  # fmt: skip
    if rest is not None:
        _read_serially(path, rest, reading, take)
    if progress is not None:
        progress(size, size)
    return finish(partials, counts=counts, options=options, reference_date=reference_date, columns=columns,
                  dates=dates, layout=layout)  # fmt: skip


def summarize(
    block: list[pa.RecordBatch],
    reading: Reading,
    *,
    malformed: list[int],
    rows_before: int = 0,
    through: int | None = None,
) -> Summed:
    """A block of parsed rows summed, with its first bad record. `malformed`: the numbers of the records its reader
    left out (from where it started, sorted); `rows_before`: the rows it parsed before this block; `through`: the
    number of the block's last record (None: the reader's last), so a left-out record after it is not this block's
    first bad one."""
    counts = Counts()
    partial = None
    found: list[tuple[int, int]] = []
    if any(batch.num_rows for batch in block):
        partial = block_partial(block, reading.columns, reading.dates, counts, until=reading.until,
                                latest=reading.latest, decimal=reading.layout.decimal)  # fmt: skip
        if partial.first_bad is not None:
            row, code = partial.first_bad
            found.append((record_of(rows_before + row, malformed), code))
    if malformed and (through is None or malformed[0] <= through):
        found.append((malformed[0], MALFORMED))
    return Summed(partial, counts, min(found) if found else None)


def sum_chunk(data: memoryview, reading: Reading) -> Summed:
    """A chunk of whole records (no header) summed: what a worker thread of the build, or a Dask worker, does.
    pa.ArrowInvalid when it cannot be parsed on its own (cut inside a quoted value: a stray quote misled the cut)."""
    malformed: list[int] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        if '"' in row.text:  # maybe a quoted value cut in two: the serial reader follows the quotes itself
            return "error"
        malformed.append(row.number)
        return "skip"

    table = read_chunk(data, reading.layout, reading.columns, on_invalid)
    summed = summarize(table.to_batches(), reading, malformed=malformed)
    summed.counts.rows_read += len(malformed)
    summed.counts.malformed_rows += len(malformed)
    return summed


def _read_chunks(
    path: Path,
    start: int,
    parse: Callable[[memoryview], Summed],
    take: Take,
    *,
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
            if len(window) > workers and (failed := _take_first(window, take, path)) is not None:
                return failed
        while window:
            if (failed := _take_first(window, take, path)) is not None:
                return failed
        return rest
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _take_first(window: deque, take: Take, path: Path) -> int | None:
    """Take the oldest chunk's sums; its offset when Arrow could not parse it on its own (for the serial reader)."""
    offset, end, future = window.popleft()
    try:
        summed = future.result()
    except pa.ArrowInvalid as exc:
        if "conversion error" in str(exc):  # text that is not UTF-8: no other reader does better
            raise read_problem(exc, path) from None
        return offset
    take(summed, offset, end)
    return None


def _read_serially(path: Path, offset: int, reading: Reading, take: Take) -> None:
    """The rest of the file from `offset` with Arrow's streaming reader, which follows quotes itself."""
    layout = reading.layout
    malformed: list[int] = []
    unclosed: list[tuple[int, int]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        if "\n" in row.text or "\r" in row.text:
            # A quoted value that ran over lines and still left the row short: a quote that never closes.
            unclosed.append((row.number, value_lines(row.text)))
        malformed.append(row.number)
        return "skip"

    def refuse_unclosed() -> None:
        if unclosed:
            record, spans = unclosed[0]
            raise unclosed_quote(record_line(path, offset, record, layout.delimiter), spans)

    source, reader = open_blocks(path, layout, reading.columns, offset=offset, on_invalid=on_invalid)
    try:
        pending: list[pa.RecordBatch] = []
        rows = parsed = 0
        for batch in _batches(reader, path):
            refuse_unclosed()
            pending.append(batch)
            rows += batch.num_rows
            if rows >= GROUP_ROWS:
                through = record_of(parsed + rows - 1, malformed)
                take(summarize(pending, reading, malformed=malformed, rows_before=parsed, through=through), offset,
                     source.tell())  # fmt: skip
                pending, parsed, rows = [], parsed + rows, 0
        refuse_unclosed()
        summed = summarize(pending, reading, malformed=malformed, rows_before=parsed)
        summed.counts.rows_read += len(malformed)
        summed.counts.malformed_rows += len(malformed)
        take(summed, offset, source.tell())
    finally:
        source.close()


def _batches(reader: pa.RecordBatchReader, path: Path) -> Iterator[pa.RecordBatch]:
    """The reader's batches; Arrow's errors in the user's terms."""
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as exc:
            raise read_problem(exc, path) from None
        yield batch


def prepare(path: Path, options: RfmOptions) -> tuple[CsvLayout, RfmColumns, DateParser]:
    """The file's layout, its RFM columns and the date formats of its shapes, from the header and a sample."""
    layout = read_layout(path)
    columns = detect_columns(layout.columns, options.columns)
    sample = read_sample(path, layout, [columns.date, *columns.amount_columns])
    layout = CsvLayout(layout.delimiter, layout.names, decimal_mark(layout, sample, columns.amount_columns))
    values = [value for value in sample.column(columns.date).to_pylist() if value]
    return layout, columns, DateParser.from_sample(columns.date, values, options.date_format)


def check_counts(counts: Counts, columns: RfmColumns, dates: DateParser) -> None:
    """InvalidDataset naming the column when a whole role is unusable: no ids, no readable date, no amount."""
    if counts.rows_read == 0:
        raise InvalidDataset("the transactions file has no rows under its header")
    if counts.malformed_rows == counts.rows_read:
        raise InvalidDataset("every row has a different number of fields from the header: check its delimiter")
    if counts.rows_without_customer_id == counts.rows_read - counts.malformed_rows:
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
    customers = partials.table() if partials.customers else None
    if customers is None or not customers.num_rows:
        raise InvalidDataset(f"no usable transaction is left{_bad(counts, columns)}")
    unusable = _unusable(partials, customers, columns)
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
        "future_dates": counts.future_dates,
        "rows_without_amount": counts.rows_without_amount,
        "amounts_not_numbers": counts.amounts_not_numbers,
        "amounts_too_large": counts.amounts_too_large,
        "malformed_rows": counts.malformed_rows,
        "rows_after_reference_date": counts.rows_after_reference_date,
        "date_formats": list(dates.formats),
        "reference_date": reference.isoformat(),
        "customers": table.num_rows,
        "customers_non_positive": non_positive,
        "customers_dropped": dropped,
        "customers_without_purchases": without_purchases,
        "customers_without_usable_transactions": unusable.num_rows,
        "columns": columns.to_dict(),
        "frequency": "orders" if by_order else "lines",
        "monetary": options.monetary,
        "non_positive": options.non_positive,
    }
    if layout is not None:
        summary.update(delimiter=layout.delimiter, decimal=layout.decimal)
    return RfmResult(table, summary, unusable)


def _bad(counts: Counts, columns: RfmColumns) -> str:
    """The bad lines counted, per reason: " (3 lines: missing Amount; ...)", or nothing when there were none."""
    parts = []
    for code, name in COUNTED.items():
        count = getattr(counts, name)
        if count:
            parts.append(f"{count:,} line{'s' if count > 1 else ''}: {reason(code, columns)}")
    return f" ({'; '.join(parts)})" if parts else ""


def _unusable(partials: Partials, customers: pa.Table, columns: RfmColumns) -> pa.Table:
    """The customers with bad lines and none usable (customer_id, reason), sorted by customer id."""
    bad = partials.bad_customers()
    if bad.num_rows:
        usable = customers.column(CUSTOMER).combine_chunks()
        bad = bad.filter(pc.invert(pc.is_in(bad.column(CUSTOMER), value_set=usable)))
    codes = pc.unique(bad.column("reasons")).to_pylist() if bad.num_rows else []
    texts = pa.array([unusable_reason(code, columns) for code in codes], pa.string())
    picks = pc.index_in(bad.column("reasons"), value_set=pa.array(codes, pa.int64()))
    return pa.table({CUSTOMER: bad.column(CUSTOMER), "reason": pc.take(texts, picks)})


def _rounded(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Amounts to 6 decimals, each the double nearest its decimal: Arrow's round left 367.28000000000003."""
    return pa.array(np.round(np.asarray(values, dtype=np.float64), 6), pa.float64())


def rfm_table(customers: pa.Table, reference: date | pa.Array, monetary: str) -> pa.Table:
    """Per-customer partial sums as RFM: recency in days to the reference day (or each customer's, date32 in their
    order), orders, net total or average order value; sorted by customer id."""
    frequency = customers.column("frequency")
    net = pc.subtract(customers.column("spent"), customers.column("returned"))
    value = net if monetary == "total" else pc.divide(net, pc.cast(frequency, pa.float64()))
    last = customers.column("last")
    day = reference if isinstance(reference, pa.Array) else pa.scalar(reference, pa.date32())
    recency = pc.days_between(pc.cast(last, pa.date32()), day)
    table = pa.table(
        {
            "customer_id": customers.column("customer_id"),
            "recency_days": pc.cast(recency, pa.int64()),
            "frequency": frequency,
            # Sums of prices carry float noise (0.1 + 0.2): rounded far below any currency's smallest unit. A
            # customer who returned as much as they bought is kept at 0 (flagged in non_positive): the model takes
            # log(1 + monetary), which a negative spend has none of.
            "monetary": pc.max_element_wise(_rounded(value), 0.0),
            "first_purchase": customers.column("first"),
            "last_purchase": last,
            "returns": _rounded(customers.column("returned")),
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
    reject: bool = False,
) -> RfmResult:
    """Build the customer table of a transactions file into `target` (CSV, whole or not at all); the result.

    What training and scoring of an RFM segmentation read: their own file is the customers, one row each.
    """
    result = build_rfm(path, options=options, reference_date=reference_date, progress=progress, reject=reject)
    with atomic_replace(Path(target)) as handle:
        pacsv.write_csv(result.table, handle, pacsv.WriteOptions(quoting_style="needed"))
    return result
