"""Deterministic synthetic transactions with planted customer groups, messy like a real online-retail export.

The header is the public online-retail file's. Like that file, customer ids are written as floats (`12923.0`), some
rows have no customer id (guest checkouts), cancellations are invoices starting with `C` with negative quantities,
and the timestamps change format part-way through (`12/1/10 8:26`, then `2011-10-06 16:20:00` after a system
migration). Each planted group differs clearly in recency, frequency and monetary value, so KMeans on log-RFM
recovers them; `plan` maps each customer id to its group.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from app.core.config import PROJECT_ROOT
from app.utils.files import atomic_replace

if TYPE_CHECKING:
    import pandas as pd

HEADER = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country")
DEFAULT_CUSTOMERS = 400
DEFAULT_OUTPUT = PROJECT_ROOT / "data" / "raw" / "transactions.csv"
DEFAULT_SEED = 42
PERIOD_START = np.datetime64("2010-12-01T08:00", "s")
PERIOD_END = np.datetime64("2011-12-09T12:50", "s")
# Invoices from this day on are written in ISO format: the export spans a system migration.
ISO_FROM = np.datetime64("2011-10-01T00:00", "s")
FIRST_CUSTOMER_ID = 12346
FIRST_INVOICE = 536365
CANCELLED_SHARE = 0.04  # orders with one line returned later
GUEST_SHARE = 0.03  # extra orders from customers without an id
CHUNK_CUSTOMERS = 25_000
DAY = 86_400


@dataclass(frozen=True)
class Group:
    """One planted customer group: its share and the ranges its customers are drawn from."""

    name: str
    share: float
    recency: tuple[int, int]  # days from the last purchase to the end of the period
    orders: tuple[int, int]  # orders per customer, inclusive
    tenure: tuple[int, int]  # days from the first purchase to the last
    lines: tuple[int, int]  # lines per order, inclusive
    quantity: float  # mean quantity per line
    price: float  # median unit price


GROUPS: tuple[Group, ...] = (
    Group("champions", 0.20, (0, 20), (12, 30), (200, 350), (3, 8), 12.0, 4.0),
    Group("new", 0.25, (0, 30), (1, 3), (0, 15), (2, 5), 6.0, 3.0),
    Group("at_risk", 0.25, (120, 220), (6, 14), (60, 140), (3, 8), 10.0, 3.5),
    Group("lost", 0.30, (270, 365), (1, 2), (0, 5), (1, 4), 4.0, 2.5),
)

PRODUCTS: tuple[tuple[str, str], ...] = (
    ("85123A", "WHITE HANGING HEART T-LIGHT HOLDER"),
    ("71053", "WHITE METAL LANTERN"),
    ("84406B", "CREAM CUPID HEARTS COAT HANGER"),
    ("84029G", "KNITTED UNION FLAG HOT WATER BOTTLE"),
    ("22752", "SET 7 BABUSHKA NESTING BOXES"),
    ("21730", "GLASS STAR FROSTED T-LIGHT HOLDER"),
    ("22633", "HAND WARMER UNION JACK"),
    ("84879", "ASSORTED COLOUR BIRD ORNAMENT"),
    ("22745", "POPPY'S PLAYHOUSE BEDROOM"),
    ("21754", "HOME BUILDING BLOCK WORD"),
    ("22310", "IVORY KNITTED MUG COSY"),
    ("84969", "BOX OF 6 ASSORTED COLOUR TEASPOONS"),
    ("22623", "BOX OF VINTAGE JIGSAW BLOCKS"),
    ("21756", "BATH BUILDING BLOCK WORD"),
    ("48187", "DOORMAT NEW ENGLAND"),
    ("20679", "EDWARDIAN PARASOL RED"),
)
COUNTRIES = ("United Kingdom", "United Kingdom", "United Kingdom", "France", "Germany", "EIRE", "Spain", "Netherlands")


def _between(rng: np.random.Generator, bounds: np.ndarray) -> np.ndarray:
    """Whole numbers drawn uniformly in each row's inclusive [low, high]."""
    return rng.integers(bounds[:, 0], bounds[:, 1] + 1)


def _shop_hours(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds after midnight of `n` purchases, in whole minutes between 7:00 and 20:00."""
    return rng.integers(7 * 60, 20 * 60, n) * 60


def _slash_dates(seconds: np.ndarray) -> pa.Array:
    """Timestamps as the public file writes them: `12/1/10 8:26` (month first, nothing zero-padded)."""
    stamps = seconds.astype("datetime64[s]")
    days = stamps.astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    years = months.astype("datetime64[Y]")
    parts = [
        (months - years).astype(int) + 1,
        (days - months).astype(int) + 1,
        (years.astype(int) + 1970) % 100,  # datetime64 years count from 1970
        (stamps - days).astype(int) // 3600,
        (stamps - days).astype(int) // 60 % 60,
    ]
    text = [pc.cast(pa.array(part), pa.string()) for part in parts]
    minute = pc.utf8_lpad(text[4], 2, "0")
    date = pc.binary_join_element_wise(text[0], text[1], text[2], "/")
    return pc.binary_join_element_wise(date, pc.binary_join_element_wise(text[3], minute, ":"), " ")


def _iso_dates(seconds: np.ndarray) -> pa.Array:
    """Timestamps as the migrated system writes them: `2011-10-06 16:20:00`."""
    return pc.strftime(pa.array(seconds.astype("datetime64[s]")), format="%Y-%m-%d %H:%M:%S")


def _chunk(
    rng: np.random.Generator, first_id: int, customers: int, first_invoice: int, mixed_dates: bool
) -> tuple[pa.Table, np.ndarray, np.ndarray, int]:
    """`customers` customers' transactions, sorted by date: the table, their ids, their groups and invoices used."""
    shares = np.array([group.share for group in GROUPS])
    group = rng.choice(len(GROUPS), size=customers, p=shares / shares.sum())
    ids = first_id + np.arange(customers)
    table = {name: np.array([getattr(g, name) for g in GROUPS])[group] for name in ("recency", "orders", "tenure")}
    end = PERIOD_END.astype(np.int64)
    start = PERIOD_START.astype(np.int64)
    midnight = end - end % DAY
    last = np.minimum(midnight - _between(rng, table["recency"]) * DAY + _shop_hours(rng, customers), end)
    first = np.maximum(last - _between(rng, table["tenure"]) * DAY, start)
    orders = _between(rng, table["orders"])

    # Orders: the first and the last at the customer's ends, the others in between.
    owner = np.repeat(np.arange(customers), orders)
    position = np.arange(len(owner)) - np.repeat(np.cumsum(orders) - orders, orders)
    span = (last - first)[owner]
    when = first[owner] + (rng.random(len(owner)) * span).astype(np.int64) // DAY * DAY
    when = when - when % DAY + _shop_hours(rng, len(when))
    when = np.where(position == 0, last[owner], np.where(position == 1, first[owner], when))
    # Guest checkouts: orders with no customer id, anywhere in the period.
    guests = round(len(owner) * GUEST_SHARE)
    owner = np.concatenate([owner, np.full(guests, -1)])
    guest_days = rng.integers(start, end, guests)
    when = np.concatenate([when, np.minimum(guest_days - guest_days % DAY + _shop_hours(rng, guests), end)])
    order_group = np.where(owner >= 0, group[np.maximum(owner, 0)], rng.integers(0, len(GROUPS), len(owner)))
    n_orders = len(owner)

    # Lines of each order.
    line_bounds = np.array([g.lines for g in GROUPS])[order_group]
    per_order = _between(rng, line_bounds)
    line_order = np.repeat(np.arange(n_orders), per_order)
    line_group = order_group[line_order]
    quantity = 1 + rng.poisson(np.array([g.quantity for g in GROUPS])[line_group] - 1)
    price = np.round(np.array([g.price for g in GROUPS])[line_group] * rng.lognormal(0.0, 0.35, len(line_order)), 2)
    price = np.maximum(price, 0.1)
    product = rng.integers(0, len(PRODUCTS), len(line_order))

    # Cancellations: one line of some customers' orders comes back a few days later (never after the period).
    returned = np.flatnonzero((owner[line_order] >= 0) & (rng.random(len(line_order)) < CANCELLED_SHARE / 4))
    back = np.minimum(when[line_order[returned]] + rng.integers(1, 10, len(returned)) * DAY, end)
    invoice_when = np.concatenate([when, back])
    invoice_owner = np.concatenate([owner, owner[line_order[returned]]])
    cancelled = np.concatenate([np.zeros(n_orders, bool), np.ones(len(returned), bool)])
    line_invoice = np.concatenate([line_order, n_orders + np.arange(len(returned))])
    quantity = np.concatenate([quantity, -quantity[returned]])
    price = np.concatenate([price, price[returned]])
    product = np.concatenate([product, product[returned]])

    # Invoices are numbered in date order, as a till numbers them.
    invoice_rank = np.empty(len(invoice_when), np.int64)
    invoice_rank[np.argsort(invoice_when, kind="stable")] = np.arange(len(invoice_when))
    number = pc.cast(pa.array(first_invoice + invoice_rank), pa.string())
    invoice_text = pc.if_else(pa.array(cancelled), pc.binary_join_element_wise("C", number, ""), number)
    dates = _slash_dates(invoice_when)
    if mixed_dates:
        dates = pc.if_else(pa.array(invoice_when >= ISO_FROM.astype(np.int64)), _iso_dates(invoice_when), dates)
    customer_text = pc.binary_join_element_wise(pc.cast(pa.array(ids), pa.string()), ".0", "")
    invoice_customer = pc.take(customer_text, pa.array(np.maximum(invoice_owner, 0)))
    no_customer = pa.nulls(len(invoice_owner), pa.string())
    invoice_customer = pc.if_else(pa.array(invoice_owner >= 0), invoice_customer, no_customer)
    country = rng.integers(0, len(COUNTRIES), customers)[np.maximum(invoice_owner, 0)]

    order = np.lexsort((np.arange(len(line_invoice)), invoice_rank[line_invoice]))
    line_invoice, product = line_invoice[order], product[order]
    rows = pa.array(line_invoice)
    frame = pa.table(
        {
            "InvoiceNo": pc.take(invoice_text, rows),
            "StockCode": pa.array(np.array([code for code, _ in PRODUCTS], dtype=object)[product], pa.string()),
            "Description": pa.array(np.array([text for _, text in PRODUCTS], dtype=object)[product], pa.string()),
            "Quantity": pa.array(quantity[order]),
            "InvoiceDate": pc.take(dates, rows),
            "UnitPrice": pa.array(price[order]),
            "CustomerID": pc.take(invoice_customer, rows),
            "Country": pa.array(np.array(COUNTRIES, dtype=object)[country[line_invoice]], pa.string()),
        }
    )
    return frame, ids, group, len(invoice_when)


def _chunks(customers: int, seed: int, mixed_dates: bool):
    """Tables of CHUNK_CUSTOMERS customers each, with their ids and groups; each chunk has its own seeded stream."""
    streams = np.random.SeedSequence(seed).spawn(max(1, -(-customers // CHUNK_CUSTOMERS)))
    first_id, first_invoice = FIRST_CUSTOMER_ID, FIRST_INVOICE
    for index, stream in enumerate(streams):
        count = min(CHUNK_CUSTOMERS, customers - index * CHUNK_CUSTOMERS)
        table, ids, group, invoices = _chunk(np.random.default_rng(stream), first_id, count, first_invoice, mixed_dates)
        yield table, ids, group
        first_id += count
        first_invoice += invoices


def generate_transactions(
    customers: int = DEFAULT_CUSTOMERS, seed: int = DEFAULT_SEED, *, mixed_dates: bool = True
) -> tuple["pd.DataFrame", dict[str, str]]:
    """Transactions of `customers` customers as the file holds them (text ids and dates), and id -> planted group."""
    if customers < len(GROUPS):
        raise ValueError(f"customers must be at least {len(GROUPS)}, got {customers}")
    tables, plan = [], {}
    for table, ids, group in _chunks(customers, seed, mixed_dates):
        tables.append(table)
        plan.update({str(i): GROUPS[g].name for i, g in zip(ids.tolist(), group.tolist(), strict=True)})
    return pa.concat_tables(tables).to_pandas(), plan


def _write_options(header: bool) -> pacsv.WriteOptions:
    return pacsv.WriteOptions(include_header=header, quoting_style="none")


def write_transactions(
    path: str | Path,
    *,
    customers: int = DEFAULT_CUSTOMERS,
    seed: int = DEFAULT_SEED,
    rows: int | None = None,
    mixed_dates: bool = True,
) -> tuple[Path, int]:
    """Write transactions as CSV, atomically, chunk by chunk; with `rows`, exactly that many lines of as many
    customers as it takes. Returns the path and the rows written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wanted = rows
    # Enough customers for `rows` lines at the smallest plausible lines per customer; generation stops at `rows`.
    total = customers if rows is None else max(len(GROUPS), rows // 10)
    written = 0
    with atomic_replace(path) as sink:
        for table, _, _ in _chunks(total, seed, mixed_dates):
            if wanted is not None:
                table = table.slice(0, wanted - written)
            pacsv.write_csv(table, sink, _write_options(written == 0))
            written += table.num_rows
            if wanted is not None and written >= wanted:
                break
    return path, written


def main_transactions(output: Path | None, customers: int, seed: int) -> int:
    """`python -m app.models.synthetic --transactions`: write a transactions file and say what it holds."""
    path, written = write_transactions(output or DEFAULT_OUTPUT, customers=customers, seed=seed)
    print(f"wrote {written:,} transaction lines of {customers:,} customers to {path}")
    return 0
