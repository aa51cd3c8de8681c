"""One customer's RFM from a list of transactions (the API's predict body), by the same rules as a file's build."""

import math
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from app.core.errors import InvalidDataset, InvalidRequest
from app.models.features import MAX_MAGNITUDE
from app.models.rfm.aggregate import CUSTOMER, ORDER, Counts, Partials, lines_partial
from app.models.rfm.bad_rows import future_after
from app.models.rfm.build import finish, until_of
from app.models.rfm.columns import RfmColumns
from app.models.rfm.dates import DateParser, UnknownDates
from app.models.segmentations.spec import RfmOptions

MAX_TRANSACTIONS = 100_000
FIELDS = {"date", "amount", "quantity", "unit_price", "order_id"}


# What a request can do about its dates: one way of writing them that reads on any version.
ISO_DATES = "write every date the same way, as ISO 8601 (2025-04-13 or 2025-04-13T16:20:00)"


def _number(item: dict[str, Any], key: str, index: int) -> float | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidRequest(f"transactions[{index}].{key} must be a finite number")
    return float(value)


def _line(item: Any, index: int) -> tuple[str, float, str | None]:
    """One transaction's date text, amount and order id, checked."""
    if not isinstance(item, dict):
        raise InvalidRequest(
            f"transactions[{index}] must be an object with date and amount (or quantity and unit_price)"
        )
    unknown = sorted(set(item) - FIELDS)
    if unknown:
        raise InvalidRequest(f"transactions[{index}] has unknown field(s): {', '.join(unknown)}")
    when = item.get("date")
    if isinstance(when, datetime | date):
        when = when.isoformat(sep=" ") if isinstance(when, datetime) else when.isoformat()
    if not isinstance(when, str) or not when.strip():
        raise InvalidRequest(f"transactions[{index}].date is missing: give the purchase's date, such as 2011-10-06")
    amount, field = _number(item, "amount", index), "amount"
    if amount is not None and (item.get("quantity") is not None or item.get("unit_price") is not None):
        # Either could be the one meant: the amount won silently, whatever quantity x unit_price came to.
        raise InvalidRequest(
            f"transactions[{index}] gives an amount and a quantity or unit_price: give one or the other"
        )
    if amount is None:
        quantity, price = _number(item, "quantity", index), _number(item, "unit_price", index)
        if quantity is None or price is None:
            raise InvalidRequest(f"transactions[{index}] needs an amount, or a quantity and a unit_price")
        amount, field = quantity * price, "quantity x unit_price"
    if not abs(amount) <= MAX_MAGNITUDE:  # as a file's line (bad_rows.TOO_LARGE); an overflowing product too
        limit = f"{MAX_MAGNITUDE:.0e}".replace("e+", "e")
        raise InvalidRequest(f"transactions[{index}].{field} is {amount:g}, beyond ±{limit}")
    order = item.get("order_id")
    if order is not None and (isinstance(order, bool) or not isinstance(order, str | int)):
        raise InvalidRequest(f"transactions[{index}].order_id must be text or a whole number")
    return when.strip(), amount, None if order is None else str(order)


def build_rfm_from_transactions(
    transactions: list[dict[str, Any]],
    reference_date: date | None = None,
    *,
    options: RfmOptions | None = None,
) -> dict[str, Any]:
    """recency_days, frequency, monetary (plus first_purchase, last_purchase, returns, non_positive) of one
    customer's transactions; the reference date defaults to the day after the last one. InvalidRequest names the
    transaction and field that cannot be used."""
    options = options or RfmOptions()
    if not isinstance(transactions, list) or not transactions:
        raise InvalidRequest("transactions must be a non-empty list of {date, amount | quantity + unit_price}")
    if len(transactions) > MAX_TRANSACTIONS:
        raise InvalidRequest(f"at most {MAX_TRANSACTIONS:,} transactions per customer")
    lines = [_line(item, index) for index, item in enumerate(transactions)]
    texts = [text for text, _, _ in lines]
    try:
        dates = DateParser.from_sample("date", texts, options.date_format)
        stamps = dates.parse(pa.array(texts, pa.string()))
    except UnknownDates as exc:  # in a request's words: no column, no date_format to give
        raise InvalidRequest(f"transactions' dates are not dates this reader understands ({exc.examples}); "
                             f"{ISO_DATES}") from None  # fmt: skip
    if stamps.null_count:
        index = stamps.to_pylist().index(None)
        raise InvalidRequest(
            f"transactions[{index}].date {texts[index]!r} cannot be read as a date like the others "
            f"({', '.join(dates.formats)}); {ISO_DATES}"
        )
    latest = future_after()
    future = [i for i, stamp in enumerate(stamps.to_pylist()) if stamp > latest]
    if future:
        raise InvalidRequest(f"transactions[{future[0]}].date {texts[future[0]]!r} is after tomorrow")
    until = until_of(reference_date)
    if until is not None:
        late = [i for i, stamp in enumerate(stamps.to_pylist()) if stamp >= until]
        if late:
            raise InvalidRequest(f"transactions[{late[0]}].date is after the reference date {reference_date}")
    has_order = any(order is not None for _, _, order in lines)
    rows = {CUSTOMER: pa.array(["customer"] * len(lines)), "date": stamps, "amount": [a for _, a, _ in lines]}
    if has_order:
        # A line without an order id is an order of its own.
        rows[ORDER] = [order if order is not None else f"\x00{i}" for i, (_, _, order) in enumerate(lines)]
    counts = Counts(rows_read=len(lines), dates_read=len(lines), amounts_read=len(lines))
    partials = Partials(by_order=has_order)
    partials.add(lines_partial(pa.table(rows), counts))
    columns = RfmColumns("customer_id", "date", amount="amount", order_id="order_id" if has_order else None)
    try:
        result = finish(
            partials,
            counts=counts,
            options=RfmOptions(monetary=options.monetary),
            reference_date=reference_date,
            columns=columns,
            dates=dates,
        )
    except InvalidDataset:  # the one way a checked, non-empty list can fail: only returns
        raise InvalidRequest("the transactions hold no purchase: every line is a return or a cancellation") from None
    row = result.table.to_pylist()[0]
    row.pop("customer_id")
    row["reference_date"] = result.summary["reference_date"]
    return row
