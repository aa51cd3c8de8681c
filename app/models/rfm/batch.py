"""Many customers' RFM from their transactions in one pass: the API's batch predict, by one customer's rules.

Each customer is built exactly as `build_rfm_from_transactions` builds them alone: their lines are checked and their
date formats guessed from their own dates (Python, per customer: a few microseconds), then every customer's lines
are parsed, summed and turned into RFM together, one Arrow or numpy call per step for the whole batch instead of
some forty per customer. A customer the one-pass build cannot answer for (a bad line, an unreadable or late date,
no purchase) is left as None: the per-customer build then gives its answer, or the error naming its line.
"""

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from app.core.errors import InvalidRequest
from app.models.rfm.aggregate import CUSTOMER, ORDER, Counts, Partials, lines_partial
from app.models.rfm.bad_rows import future_after
from app.models.rfm.build import rfm_table, until_of
from app.models.rfm.dates import DateParser, UnknownDates, parse_each
from app.models.rfm.transactions import MAX_TRANSACTIONS, _line
from app.models.segmentations.spec import RfmOptions

RFM_NAMES = ("recency_days", "frequency", "monetary")
_DAY = 86_400


class _Lines:
    """The checked lines of the customers the one pass builds, gathered in input order."""

    def __init__(self) -> None:
        self.owners: list[int] = []  # the customer's position in the batch, per line
        self.texts: list[str] = []
        self.amounts: list[float] = []
        self.orders: list[str] = []
        self.formats: list[tuple[str, ...]] = []  # per line: its customer's date formats
        self.parsers: dict[int, DateParser] = {}  # per customer

    def add(self, position: int, lines: list[tuple[str, float, str | None]], dates: DateParser) -> None:
        key = tuple(dates.formats)
        self.parsers[position] = dates
        for index, (text, amount, order) in enumerate(lines):
            self.owners.append(position)
            self.texts.append(text)
            self.amounts.append(amount)
            # A line without an order id is an order of its own: so a customer without any order ids counts one
            # order per purchase line, as frequency counts their lines when they are built alone.
            self.orders.append(order if order is not None else f"\x00{index}")
            self.formats.append(key)


def _checked(transactions: Any, date_format: str | None) -> tuple[list, DateParser] | None:
    """One customer's lines and date formats, as their own build checks and guesses them; None when it refuses."""
    if not isinstance(transactions, list) or not transactions or len(transactions) > MAX_TRANSACTIONS:
        return None
    try:
        lines = [_line(item, index) for index, item in enumerate(transactions)]
        dates = DateParser.from_sample("date", [text for text, _, _ in lines], date_format)
    except (InvalidRequest, UnknownDates):
        return None
    return lines, dates


def _dates(lines: _Lines, owners: np.ndarray, present: np.ndarray, starts: np.ndarray) -> pa.Array:
    """Each line's timestamp as its customer's own parse reads it: with the formats guessed from their dates, then
    for a customer with unreadable dates, again with any format learnt from those (DateParser.parse), null where
    still unreadable."""
    texts = pa.array(lines.texts, pa.string())
    stamps = parse_each(texts, lines.formats)  # each line with its own customer's formats only
    if not stamps.null_count:
        return stamps
    unread = np.asarray(pc.is_null(stamps).to_numpy(zero_copy_only=False), dtype=bool)
    ends = np.append(starts[1:], len(owners))
    again = []
    for position, start, end in zip(present.tolist(), starts.tolist(), ends.tolist(), strict=True):
        parser = lines.parsers[position]
        if parser.fixed or not unread[start:end].any():
            continue
        unknown = [text for text, null in zip(lines.texts[start:end], unread[start:end], strict=True) if null]
        if parser.learn(unknown[:10_000]):  # as its parse learns, from the first 10,000 it could not read
            again.append(np.arange(start, end))
            lines.formats[start:end] = [tuple(parser.formats)] * (end - start)
    if not again:
        return stamps
    at = np.concatenate(again)
    reread = parse_each(texts.take(pa.array(at)), [lines.formats[index] for index in at.tolist()])
    mask = np.zeros(len(texts), dtype=bool)
    mask[at] = True
    return pc.replace_with_mask(stamps, pa.array(mask), reread)


def build_rfm_rows(
    customers: Sequence[tuple[Any, date | None]], *, options: RfmOptions | None = None
) -> list[dict[str, float] | None]:
    """recency_days, frequency and monetary of each customer (their transactions, their reference date or None
    for the day after their last line), as each would be built alone; None for a customer whose own build must
    answer (it refuses them, or reads a date only after learning a format from its unreadable lines)."""
    options = options or RfmOptions()
    results: list[dict[str, float] | None] = [None] * len(customers)
    lines = _Lines()
    for position, (transactions, _) in enumerate(customers):
        checked = _checked(transactions, options.date_format)
        if checked is not None:
            lines.add(position, *checked)
    if not lines.owners:
        return results
    owners = np.array(lines.owners, dtype=np.int64)
    # A customer's lines are together and in order: each customer's first line starts a run.
    present = np.unique(owners)
    starts = np.searchsorted(owners, present)
    stamps = _dates(lines, owners, present, starts)
    seconds = np.asarray(pc.fill_null(stamps.cast(pa.int64()), 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    bad = np.asarray(pc.is_null(stamps).to_numpy(zero_copy_only=False), dtype=bool)
    bad |= seconds > int(pa.scalar(future_after(), pa.timestamp("s")).cast(pa.int64()).as_py())
    untils = [until_of(customers[position][1]) for position in present.tolist()]
    if any(until is not None for until in untils):
        limit = np.array([_seconds(until) if until is not None else np.iinfo(np.int64).max for until in untils])
        bad |= seconds >= np.repeat(limit, np.diff(np.append(starts, len(owners))))
    refused = np.logical_or.reduceat(bad, starts)
    keep = ~np.repeat(refused, np.diff(np.append(starts, len(owners))))
    present, kept = present[~refused], keep.nonzero()[0]
    if not len(present):
        return results
    rows = pa.table(
        {
            CUSTOMER: pa.array(owners[kept]),
            "date": stamps.take(pa.array(kept)),
            "amount": pa.array(np.array(lines.amounts)[kept], pa.float64()),
            ORDER: pa.array(lines.orders, pa.string()).take(pa.array(kept)),
        }
    )
    partials = Partials(by_order=True)
    partials.add(lines_partial(rows, Counts()))
    table = partials.table()  # text customer ids, in no set order
    at = np.searchsorted(present, np.asarray(pc.cast(table.column(CUSTOMER), pa.int64()), dtype=np.int64))
    kept_owners = owners[kept]
    run_starts = np.searchsorted(kept_owners, present)
    # The default reference day is the day after the customer's last line, a return's too.
    latest = np.maximum.reduceat(seconds[kept], run_starts) // _DAY + 1
    given = [customers[position][1] for position in present.tolist()]
    epoch = date(1970, 1, 1)
    reference = np.array([(r - epoch).days if r else day for r, day in zip(given, latest.tolist(), strict=True)])
    bought = np.asarray(pc.greater(table.column("frequency"), 0).to_numpy(zero_copy_only=False), dtype=bool)
    table, at = table.filter(pa.array(bought)), at[bought]
    if not table.num_rows:
        return results
    rfm = rfm_table(table, pa.array(reference[at], pa.int32()).cast(pa.date32()), options.monetary)
    ids = np.asarray(pc.cast(rfm.column("customer_id"), pa.int64()), dtype=np.int64)
    values = {name: rfm.column(name).to_pylist() for name in RFM_NAMES}
    for row, position in enumerate(ids.tolist()):
        results[position] = {name: float(values[name][row]) for name in RFM_NAMES}
    return results


def _seconds(moment: Any) -> int:
    return int(pa.scalar(moment, pa.timestamp("s")).cast(pa.int64()).as_py())
