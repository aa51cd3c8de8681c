"""The RFM rules on Arrow tables: each block of transactions to per-order partials, partials merged, customers out.

Rules, shared by the file build, the Dask build and one customer's transactions:
- a row is counted in the first of these that applies, and dropped: no customer id, a date that does not parse,
  a date after tomorrow, no amount, an amount that is not a finite number, an amount beyond ±1e15, dated after the
  reference date (see bad_rows.py for which of these are bad lines);
- customer ids are text; a float id (`12923.0`) is the integer it stands for (`12923`);
- a line's amount is the amount column, or quantity x unit price;
- a return is a line with a negative amount or an order id starting with `C` (a cancelled invoice): its value is
  taken off the customer's spend and it never counts as an order;
- frequency is the number of distinct orders with at least one purchase line (an order split across blocks counts
  once), or the number of purchase lines when the file has no order id.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from app.models.rfm.bad_rows import (
    BAD_DATE,
    COUNTED,
    FUTURE_DATE,
    NO_AMOUNT,
    NOT_A_NUMBER,
    TOO_LARGE,
    amounts,
    bounded,
)
from app.models.rfm.columns import RfmColumns
from app.models.rfm.dates import DateParser

CUSTOMER, ORDER = "customer_id", "order_id"
# A (customer, order) pair of small non-negative integer ids packed in one int64 (customer << 32 | order): one
# key hashes and dedupes several times faster than two.
PAIR = "pair"
_ORDER_BITS = 32
# The partial columns and how two partials of the same key merge.
# Partials are merged when they pass this many rows (and have doubled since the last merge).
COMPACT_ROWS = 1 << 20
MERGE = (("spent", "sum"), ("returned", "sum"), ("first", "min"), ("last", "max"), ("lines", "sum"))


@dataclass
class Counts:
    """Rows seen and rows dropped, summed over blocks."""

    rows_read: int = 0
    rows_without_customer_id: int = 0
    unparseable_dates: int = 0
    future_dates: int = 0
    rows_without_amount: int = 0
    amounts_not_numbers: int = 0
    amounts_too_large: int = 0
    malformed_rows: int = 0
    rows_after_reference_date: int = 0
    cancellation_rows: int = 0
    # Rows with a customer id that have a date, or an amount: whether the file has any at all.
    dates_read: int = 0
    amounts_read: int = 0
    # The last date of a kept row (a purchase or a return): the default reference date is the day after it.
    latest: datetime | None = None

    def merge(self, other: "Counts") -> None:
        """Add another block's (or partition's) counts."""
        for name, value in asdict(other).items():
            if name == "latest":
                self.see(value)
            else:
                setattr(self, name, getattr(self, name) + value)

    def see(self, stamp: datetime | None) -> None:
        """Keep the later of `latest` and a kept row's date."""
        if stamp is not None and (self.latest is None or stamp > self.latest):
            self.latest = stamp


# A whole number written as a float by a spreadsheet: with a decimal point, or in a decimal-comma file with a comma
# (or a point and one zero: there "1.000" is a thousand, written with the thousands mark).
_WHOLE_FLOAT = (r"^(-?[0-9]+)\.0+$", r"^(-?[0-9]+)(?:,0+|\.0)$")


def customer_ids(values: pa.Array, decimal: str = ".") -> pa.Array:
    """Customer ids as text: padding trimmed, a float id (`12923.0`, or `12923,0` in a file of decimal commas) as
    its integer (`12923`), empty as null. Only a number loses its zero decimals: `v1.0` stays another id than `v1`."""
    if pc.any(pc.or_(pc.starts_with(values, " "), pc.ends_with(values, " "))).as_py():
        values = pc.utf8_trim_whitespace(values)
    if pc.any(pc.ends_with(values, "0")).as_py():
        values = pc.replace_substring_regex(values, _WHOLE_FLOAT[decimal != "."], r"\1")
    empty = pc.equal(pc.binary_length(values), 0)
    if pc.any(empty).as_py():
        values = pc.if_else(empty, pa.scalar(None, pa.string()), values)
    return values


def keys(values: pa.Array) -> pa.Array:
    """Text ids as int64 when each is an integer written the one way (`12923`, not `012923` nor `+12923`), so that
    the number prints back as the same text: integers compare, hash and group several times faster. Other text
    stays text; a partial of each merges once the integers are printed (`as_text`)."""
    if not pa.types.is_string(values.type) or values.null_count == len(values):
        return values
    try:
        numbers = pc.cast(values, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return values
    return numbers if pc.all(pc.equal(pc.cast(numbers, pa.string()), values)).as_py() is not False else values


def customer_keys(values: pa.Array, decimal: str = ".") -> pa.Array:
    """Cleaned customer ids (`customer_ids`) as keys (`keys`)."""
    return keys(customer_ids(values, decimal))


def cancelled(values: pa.Array) -> pa.Array:
    """Whether each order id is a cancelled invoice's (starts with `C`); an empty one is not."""
    return pc.fill_null(pc.starts_with(values, "C"), False)


def as_text(table: pa.Table) -> pa.Table:
    """A partial with its integer ids printed as the text they were read from."""
    for name in (CUSTOMER, ORDER):
        if name in table.column_names and not pa.types.is_string(table.schema.field(name).type):
            table = table.set_column(table.column_names.index(name), name, pc.cast(table.column(name), pa.string()))
    return table


def concat(tables: list[pa.Table]) -> pa.Table:
    """Partials as one table; all with text ids when any has them (empty ones aside: they fix no type)."""
    tables = [table for table in tables if table.num_rows] or tables[:1]
    if any(table.schema != tables[0].schema for table in tables):
        tables = [as_text(table) for table in tables]
    return pa.concat_tables(tables)


def _same_type(parts: list[pa.Array]) -> list[pa.Array]:
    """Batches' ids of one type: text when any batch's are text."""
    if any(part.type != parts[0].type for part in parts):
        return [part if pa.types.is_string(part.type) else pc.cast(part, pa.string()) for part in parts]
    return parts


def _count(mask: pa.Array) -> int:
    return int(pc.sum(mask).as_py() or 0)


Block = pa.RecordBatch | list[pa.RecordBatch]


def _column(block: Block, name: str, convert: Callable[[pa.Array], pa.Array] | None = None) -> pa.Array:
    """One column of a block as one array, `convert` applied; a dictionary column (as the reader gives dates and
    ids) is converted once per distinct value, which is far fewer than rows."""
    batches = block if isinstance(block, list) else [block]
    parts = []
    for batch in batches:
        column = batch.column(name)
        if convert is not None and pa.types.is_dictionary(column.type):
            column = pc.take(convert(column.dictionary), column.indices)
        elif convert is not None:
            column = convert(column)
        elif pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        parts.append(column)
    return parts[0] if len(parts) == 1 else pa.concat_arrays(_same_type(parts))


def _amounts(block: Block, columns: RfmColumns, decimal: str) -> tuple[pa.Array, pa.Array | None, pa.Array | None]:
    """Each line's amount (the amount column, or quantity x unit price), null where it has none, it is not a
    finite number or it is beyond ±1e15; and which were not numbers, and which too large (each None when none)."""
    if columns.amount is not None:
        amount, not_number = amounts(_column(block, columns.amount), decimal)
        amount, too_large = bounded(amount)
        return amount, not_number, too_large
    quantity, bad_quantity = amounts(_column(block, columns.quantity), decimal)
    price, bad_price = amounts(_column(block, columns.unit_price), decimal)
    # A product of two finite numbers: too large when it overflows (1e308 x 6 is infinite), never "not a number".
    product, too_large = bounded(pc.multiply(quantity, price))
    if bad_quantity is None or bad_price is None:
        return product, bad_quantity if bad_price is None else bad_price, too_large
    return product, pc.fill_null(pc.or_kleene(bad_quantity, bad_price), False), too_large


def block_partial(
    block: Block,
    columns: RfmColumns,
    dates: DateParser,
    counts: Counts,
    *,
    until: datetime | None = None,
    latest: datetime | None = None,
    decimal: str = ".",
) -> "Partial":
    """One block of transactions (a batch, or batches read one after the other; amounts as text) as a partial;
    `counts` gains the block's rows. `until`: rows dated at or after it are after the reference date; `latest`:
    rows dated after it are in the future (bad lines)."""
    ids = _column(block, columns.customer_id, lambda values: customer_keys(values, decimal))
    stamps = _column(block, columns.date, dates.parse)
    amount, not_number, too_large = _amounts(block, columns, decimal)
    n = len(ids)
    counts.rows_read += n
    with_id = n - ids.null_count
    counts.rows_without_customer_id += n - with_id
    has_id = pc.is_valid(ids).to_numpy(zero_copy_only=False) if with_id < n else None

    def rows(mask: pa.Array) -> np.ndarray:
        """A mask of rows, for rows with a customer id only."""
        values = np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)
        return values if has_id is None else values & has_id

    # Each row with an id gets the first reason it cannot be used (0: none); most blocks have none to look for.
    checks: list[tuple[int, np.ndarray]] = []
    if stamps.null_count:
        checks.append((BAD_DATE, rows(pc.is_null(stamps))))
    counts.dates_read += with_id - (int(checks[0][1].sum()) if checks else 0)
    if latest is not None and stamps.null_count < n and pc.max(stamps).as_py() > latest:
        checks.append((FUTURE_DATE, rows(pc.greater(stamps, pa.scalar(latest, pa.timestamp("s"))))))
    missing = None
    if amount.null_count:
        absent = pc.is_null(amount)
        for mask in (mask for mask in (not_number, too_large) if mask is not None):
            absent = pc.and_(absent, pc.invert(mask))
        missing = rows(absent)
        checks.append((NO_AMOUNT, missing))
    counts.amounts_read += with_id - (int(missing.sum()) if missing is not None else 0)
    if not_number is not None:
        checks.append((NOT_A_NUMBER, rows(not_number)))
    if too_large is not None:
        checks.append((TOO_LARGE, rows(too_large)))
    codes = None
    if any(mask.any() for _, mask in checks):
        codes = np.zeros(n, dtype=np.int8)
        for code, mask in reversed(checks):  # the first reason that applies is written last
            codes[mask] = code
        for code, count in enumerate(np.bincount(codes, minlength=len(COUNTED)).tolist()):
            if code and count:
                setattr(counts, COUNTED[code], getattr(counts, COUNTED[code]) + count)
    keep = has_id if codes is None else (codes == 0) if has_id is None else (codes == 0) & has_id
    if until is not None:
        later = rows(pc.greater_equal(stamps, pa.scalar(until, pa.timestamp("s"))))
        if later.any():
            after = later if keep is None else later & keep
            counts.rows_after_reference_date += int(after.sum())
            keep = ~after if keep is None else keep & ~after
    table = {CUSTOMER: ids, "date": stamps, "amount": amount}
    if columns.order_id is not None:
        table[ORDER] = _column(block, columns.order_id)
    lines = pa.table(table)
    partial = lines_partial(lines if keep is None else lines.filter(pa.array(keep)), counts)
    if codes is None:
        return partial
    bad = np.flatnonzero(codes)
    pairs = pa.table({CUSTOMER: ids.take(pa.array(bad)), "code": pa.array(codes[bad])})
    first = (int(bad[0]), int(codes[bad[0]]))
    return Partial(partial.customers, partial.orders, pairs.group_by([CUSTOMER, "code"]).aggregate([]), first)


@dataclass(frozen=True)
class Partial:
    """Some lines summed per customer, and the distinct (customer, order) pairs of their purchases.

    Sums, minima and maxima merge per customer whatever the order; only the count of distinct orders needs the
    pairs, so they are all that is kept per order.
    """

    customers: pa.Table  # customer_id, spent, returned, first, last, lines
    orders: pa.Table | None  # customer_id, order_id; None without an order id column
    # The distinct (customer_id, code) pairs of bad lines (bad_rows.py), and the first bad line's (row, code).
    bad: pa.Table | None = None
    first_bad: tuple[int, int] | None = None

    @property
    def num_rows(self) -> int:
        """Rows held, for deciding when to merge."""
        held = (self.customers, self.orders, self.bad)
        return sum(table.num_rows for table in held if table is not None)


def lines_partial(rows: pa.Table, counts: Counts) -> Partial:
    """Kept lines (customer_id, date, amount, order_id?) as a partial; `counts` gains the return lines.

    Lines of one order sit together in a real file: each run of lines of the same customer is summed with numpy's
    reduceat first, so the hash group-by sees runs, not lines (about five times fewer rows).
    """
    amount = rows.column("amount").combine_chunks()
    returns = pc.less(amount, 0)
    by_order = ORDER in rows.column_names
    if by_order:
        returns = pc.or_(returns, cancelled(rows.column(ORDER)))
    counts.cancellation_rows += _count(returns)
    stamps = rows.column("date").combine_chunks()
    counts.see(pc.max(stamps).as_py())
    ids = rows.column(CUSTOMER).combine_chunks()
    if not rows.num_rows:
        return Partial(reduce(_EMPTY_LINES), as_text(rows.select([CUSTOMER, ORDER])) if by_order else None)
    starts = _run_starts([ids])
    is_return = returns.to_numpy(zero_copy_only=False)
    money = amount.to_numpy(zero_copy_only=False)
    seconds = stamps.cast(pa.int64()).to_numpy(zero_copy_only=False)
    purchase = ~is_return
    lines = pa.table(
        {
            CUSTOMER: ids.take(pa.array(starts)),
            "spent": np.add.reduceat(np.where(is_return, 0.0, money), starts),
            "returned": np.add.reduceat(np.where(is_return, np.abs(money), 0.0), starts),
            "first": _stamps(np.minimum.reduceat(np.where(purchase, seconds, _NEVER), starts)),
            "last": _stamps(np.maximum.reduceat(np.where(purchase, seconds, _EVER), starts)),
            "lines": np.add.reduceat(purchase.astype(np.int64), starts),
        }
    )
    orders = _bought(ids, rows.column(ORDER).combine_chunks(), purchase) if by_order else None
    return Partial(reduce(lines), orders)


def _bought(ids: pa.Array, order_ids: pa.Array, purchase: np.ndarray) -> pa.Table:
    """The (customer, order) pairs of purchase lines, the first line of each run of one pair only: packed (PAIR)
    when both are small non-negative integers, else as two columns."""
    bought = pa.table({CUSTOMER: ids, ORDER: order_ids}).filter(pa.array(purchase))
    runs = _run_starts([bought.column(CUSTOMER).combine_chunks(), bought.column(ORDER).combine_chunks()])
    bought = bought.take(pa.array(runs, pa.int64()))
    owner, order = bought.column(CUSTOMER).combine_chunks(), keys(bought.column(ORDER).combine_chunks())
    if pa.types.is_int64(owner.type) and pa.types.is_int64(order.type) and not owner.null_count + order.null_count:
        owners, orders = owner.to_numpy(), order.to_numpy()
        if not len(owners) or (
            owners.min() >= 0 and owners.max() >> (63 - _ORDER_BITS) == 0 and orders.min() >= 0
            and orders.max() >> _ORDER_BITS == 0
        ):  # fmt: skip
            return pa.table({PAIR: (owners << _ORDER_BITS) | orders})
    return bought.set_column(1, ORDER, order)


def _unpacked(pairs: pa.Table) -> pa.Table:
    """Packed pairs as customer_id and order_id columns; other tables as they are."""
    if PAIR not in pairs.column_names:
        return pairs
    packed = pairs.column(PAIR).to_numpy()
    return pa.table({CUSTOMER: packed >> _ORDER_BITS, ORDER: packed & ((1 << _ORDER_BITS) - 1)})


# Sentinels for "no purchase in this run": above and below any timestamp in seconds.
_NEVER, _EVER = np.iinfo(np.int64).max, np.iinfo(np.int64).min
_EMPTY_LINES = pa.table(
    {
        CUSTOMER: pa.array([], pa.string()),
        "spent": pa.array([], pa.float64()),
        "returned": pa.array([], pa.float64()),
        "first": pa.array([], pa.timestamp("s")),
        "last": pa.array([], pa.timestamp("s")),
        "lines": pa.array([], pa.int64()),
    }
)


def _run_starts(keys: list[pa.Array]) -> np.ndarray:
    """Where each run of consecutive rows with equal keys starts."""
    n = len(keys[0])
    change = np.zeros(n, dtype=bool)
    if n:
        change[0] = True
    for key in keys:
        if n > 1 and pa.types.is_integer(key.type) and not key.null_count:
            values = key.to_numpy()
            change[1:] |= values[1:] != values[:-1]
        elif n > 1:
            differs = pc.fill_null(pc.not_equal(key.slice(1), key.slice(0, n - 1)), True)
            change[1:] |= differs.to_numpy(zero_copy_only=False)
    return np.flatnonzero(change)


def _stamps(seconds: np.ndarray) -> pa.Array:
    """Seconds as timestamps, the sentinels as null."""
    return pa.array(seconds, pa.int64(), mask=(seconds == _NEVER) | (seconds == _EVER)).cast(pa.timestamp("s"))


def reduce(partials: pa.Table) -> pa.Table:
    """Merge per-customer partials of the same customer (Arrow's hash group-by), keeping the columns' names."""
    # One thread: the same sums in the same order on every run (threads would change the last bits of a total).
    merged = partials.group_by([CUSTOMER], use_threads=False).aggregate(list(MERGE))
    return merged.rename_columns([CUSTOMER, *(name for name, _ in MERGE)])


def distinct_orders(tables: list[pa.Table]) -> pa.Table:
    """The distinct (customer, order) pairs of tables of them: packed and sorted when all are packed (a sort of
    integers dedupes faster than a hash), else as two columns."""
    tables = [table for table in tables if table.num_rows] or tables[:1]
    if all(PAIR in table.column_names for table in tables):
        packed = np.sort(np.concatenate([table.column(PAIR).to_numpy() for table in tables]))
        return pa.table({PAIR: packed[_changes(packed)]})
    pairs = concat([_unpacked(table) for table in tables])
    return pairs.group_by([CUSTOMER, ORDER], use_threads=False).aggregate([])


def _changes(values: np.ndarray) -> np.ndarray:
    """Where each run of equal values starts, as a mask."""
    change = np.ones(len(values), dtype=bool)
    np.not_equal(values[1:], values[:-1], out=change[1:])
    return change


@dataclass
class Partials:
    """Partials gathered block by block, merged whenever they double, so memory follows the number of customers
    and orders, not of lines, and merging costs linear time."""

    customers: list[pa.Table] = field(default_factory=list)
    orders: list[pa.Table] = field(default_factory=list)
    bad: list[pa.Table] = field(default_factory=list)
    by_order: bool = False
    rows: int = 0
    merged_rows: int = 0

    def add(self, partial: Partial) -> None:
        """Take one block's partial."""
        self.customers.append(partial.customers)
        if partial.orders is not None:
            self.orders.append(partial.orders)
        if partial.bad is not None:
            self.bad.append(partial.bad)
        self.rows += partial.num_rows
        if self.rows > max(COMPACT_ROWS, 2 * self.merged_rows):
            self.merge()

    def merge(self) -> None:
        """Merge what is held into one per-customer table and one table of distinct pairs."""
        if self.customers:
            self.customers = [reduce(concat(self.customers))]
        if self.orders:
            self.orders = [distinct_orders(self.orders)]
        if self.bad:
            self.bad = [concat(self.bad).group_by([CUSTOMER, "code"], use_threads=False).aggregate([])]
        self.rows = self.merged_rows = sum(table.num_rows for table in self.customers + self.orders + self.bad)

    def bad_customers(self) -> pa.Table:
        """Each customer with bad lines (text ids, sorted) and the bit set (1 << code) of their reasons."""
        self.merge()
        if not self.bad or not self.bad[0].num_rows:
            return pa.table({CUSTOMER: pa.array([], pa.string()), "reasons": pa.array([], pa.int64())})
        pairs = as_text(self.bad[0])
        bits = pc.shift_left(pa.scalar(1, pa.int64()), pc.cast(pairs.column("code"), pa.int64()))
        pairs = pa.table({CUSTOMER: pairs.column(CUSTOMER), "reasons": bits})  # distinct pairs: a sum is their OR
        summed = pairs.group_by([CUSTOMER], use_threads=False).aggregate([("reasons", "sum")])
        return summed.rename_columns([CUSTOMER, "reasons"]).sort_by(CUSTOMER)

    def table(self) -> pa.Table:
        """One row per customer: spent, returned, first, last and frequency (orders, or purchase lines)."""
        self.merge()
        customers = self.customers[0]
        if not self.by_order:
            return as_text(customers).rename_columns(
                [name if name != "lines" else "frequency" for name in customers.column_names]
            )
        key = customers.schema.field(CUSTOMER).type
        orders = self.orders[0] if self.orders else pa.table({CUSTOMER: pa.array([], key)})
        if PAIR in orders.column_names and pa.types.is_int64(key):
            return as_text(_with_frequency(customers, orders.column(PAIR)))
        orders = _unpacked(orders)
        counted = orders.group_by([CUSTOMER], use_threads=False).aggregate([([], "count_all")])
        if counted.schema.field(CUSTOMER).type != key:
            customers, counted = as_text(customers), as_text(counted)
        joined = customers.drop_columns(["lines"]).join(counted, CUSTOMER, join_type="left outer")
        frequency = pc.fill_null(joined.column("count_all"), 0)
        joined = joined.drop_columns(["count_all"]).append_column("frequency", pc.cast(frequency, pa.int64()))
        return as_text(joined)


def _with_frequency(customers: pa.Table, pairs: pa.ChunkedArray) -> pa.Table:
    """Integer-id customers with their count of distinct packed pairs (sorted, as `distinct_orders` gives them)
    as frequency."""
    owners = pairs.to_numpy() >> _ORDER_BITS
    starts = np.flatnonzero(_changes(owners))
    counts = np.diff(np.append(starts, len(owners)))
    owners = owners[starts]
    ids = customers.column(CUSTOMER).to_numpy()
    at = np.minimum(np.searchsorted(owners, ids), max(len(owners) - 1, 0))
    frequency = np.where(owners[at] == ids, counts[at], 0) if len(owners) else np.zeros(len(ids), np.int64)
    return customers.drop_columns(["lines"]).append_column("frequency", pa.array(frequency, pa.int64()))


def day_after(stamp: datetime) -> date:
    """The calendar day after a timestamp's."""
    return stamp.date() + timedelta(days=1)
