"""The RFM build: a transactions CSV streamed in blocks to one row per customer, and a summary of what was read."""

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from queue import Full, Queue
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from app.core.errors import InvalidDataset
from app.models.rfm.aggregate import Counts, Partials, block_partial, day_after
from app.models.rfm.columns import RfmColumns, detect_columns
from app.models.rfm.dates import DateParser
from app.models.rfm.source import (
    BLOCK_BYTES,
    CsvLayout,
    decimal_mark,
    open_blocks,
    read_layout,
    read_problem,
    read_sample,
)
from app.models.segmentations.spec import RfmOptions
from app.utils.files import atomic_replace

# Blocks are joined to about this many rows before their group-by: fewer, larger group-bys cost less per row.
GROUP_ROWS = 256 * 1024
RFM_COLUMNS = (
    "customer_id", "recency_days", "frequency", "monetary",
    "first_purchase", "last_purchase", "returns", "non_positive",
)  # fmt: skip

# Batches (about 1 MiB of CSV each) read ahead while the previous ones are summed.
PREFETCH = 16
_DONE = object()

Progress = Callable[[int, int], None]


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
    block_bytes: int = BLOCK_BYTES,
    group_rows: int = GROUP_ROWS,
    progress: Progress | None = None,
) -> RfmResult:
    """Build the customer table of a transactions CSV in bounded memory: Arrow's streaming reader, a hash
    group-by per block, partials merged at the end. `progress(bytes_read, file_bytes)` is called per block."""
    path = Path(path)
    options = options or RfmOptions()
    if not path.is_file():
        raise InvalidDataset(f"transactions file not found: {path}")
    layout, columns, dates = prepare(path, options)
    size = os.path.getsize(path)
    until = until_of(reference_date)
    counts = Counts()
    partials = Partials(by_order=columns.order_id is not None)
    pending: list[pa.RecordBatch] = []

    def flush() -> None:
        if pending:
            block = list(pending)
            pending.clear()
            partials.add(block_partial(block, columns, dates, counts, until=until))

    source, reader = open_blocks(path, layout, columns, block_bytes=block_bytes)
    try:
        rows = 0
        for batch in prefetched(_batches(reader, layout.names)):
            pending.append(batch)
            rows += batch.num_rows
            if rows >= group_rows:
                flush()
                rows = 0
                if progress is not None:
                    progress(source.tell(), size)
        flush()
    finally:
        source.close()
    if progress is not None:
        progress(size, size)
    return finish(partials, counts=counts, options=options, reference_date=reference_date, columns=columns,
                  dates=dates, layout=layout)  # fmt: skip


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


def prefetched(batches: Iterator[pa.RecordBatch], depth: int = PREFETCH) -> Iterator[pa.RecordBatch]:
    """The batches, read ahead on a thread: Arrow parses a CSV block with the GIL released, so reading the next
    blocks overlaps with the group-bys of this one (two cores instead of one, on a machine that has them). At
    most `depth` batches wait, so memory stays bounded; an error while reading is raised here, in order."""
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()

    def read() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        queue.put(batch, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            queue.put(exc)

    reader = threading.Thread(target=read, name="rfm-read", daemon=True)
    reader.start()
    try:
        while (item := queue.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


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
