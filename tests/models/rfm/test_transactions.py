"""One customer's RFM from a list of transactions, by the file build's rules."""

from datetime import UTC, date, datetime, timedelta

import pytest

from app.core.errors import InvalidRequest
from app.models.rfm.transactions import build_rfm_from_transactions
from app.models.segmentations.spec import RfmOptions


def test_orders_returns_and_mixed_dates():
    rfm = build_rfm_from_transactions(
        [
            {"date": "2011-10-06 16:20:00", "amount": 10, "order_id": "1"},
            {"date": "2011-10-06", "quantity": 2, "unit_price": 2.5, "order_id": "1"},
            {"date": "12/1/10 8:26", "amount": 7, "order_id": 2},
            {"date": "2011-10-07", "amount": -4, "order_id": "C3"},
        ],
        date(2011, 12, 10),
    )
    assert (rfm["recency_days"], rfm["frequency"], rfm["monetary"], rfm["returns"]) == (65, 2, 18.0, 4.0)
    assert rfm["reference_date"] == "2011-12-10"


def test_without_order_ids_each_line_is_an_order_and_average_works():
    rfm = build_rfm_from_transactions(
        [{"date": "2011-01-01", "amount": 10}, {"date": "2011-01-03", "amount": 30}],
        options=RfmOptions(monetary="average"),
    )
    assert (rfm["recency_days"], rfm["frequency"], rfm["monetary"]) == (1, 2, 20.0)


@pytest.mark.parametrize(
    ("transactions", "message"),
    [
        ([], "non-empty list"),
        ([{"amount": 5}], r"transactions\[0\].date is missing"),
        ([{"date": "2011-01-01"}], r"transactions\[0\] needs an amount"),
        ([{"date": "2011-01-01", "amount": "5"}], r"transactions\[0\].amount must be a finite number"),
        # The amount was used and quantity x unit_price (here 500,000) dropped without a word.
        (
            [{"date": "2011-01-01", "amount": 5, "quantity": 100, "unit_price": 5000}],
            r"transactions\[0\] gives an amount and a quantity or unit_price: give one or the other",
        ),
        ([{"date": "2011-01-01", "amount": 5, "quantity": 2}], r"transactions\[0\] gives an amount and a quantity"),
        ([{"date": "2011-01-01", "amount": 5}, {"date": "whenever", "amount": 5}], r"transactions\[1\].date"),
        ([{"date": "2011-01-01", "amount": 5, "colour": "red"}], "unknown field"),
        ([{"date": "2011-01-01", "amount": -5}], "no purchase"),
        ([{"date": "2026-02-31", "amount": 10}], r"transactions\[0\].date '2026-02-31' cannot be read"),
        ([{"date": "2011-01-01", "amount": 1e300}], r"transactions\[0\].amount is 1e\+300, beyond ±1e15"),
        # Dates in a request: said in its words (no column, no date_format it could give), with what to do.
        ([{"date": "next tuesday", "amount": 5}], r"transactions' dates are not dates .*'next tuesday'.*ISO 8601"),
        (
            [{"date": day, "amount": 5} for day in ("03/04/2025", "04/13/2025", "13/04/2025")],
            # A first field above 12 says day first: 04/13 is then the one that cannot be read.
            r"transactions\[1\].date '04/13/2025' cannot be read as a date like the others \(%d/%m/%Y\).*ISO 8601",
        ),
        (
            [{"date": "2011-01-01", "amount": 5}, {"date": "2011-01-02", "quantity": 6, "unit_price": 1e308}],
            r"transactions\[1\].quantity x unit_price is inf, beyond ±1e15",
        ),
    ],
)
def test_bad_transactions_name_the_item_and_field(transactions, message):
    with pytest.raises(InvalidRequest, match=message):
        build_rfm_from_transactions(transactions)


def test_a_transaction_after_the_reference_date_is_refused():
    with pytest.raises(InvalidRequest, match=r"transactions\[0\].date is after the reference date"):
        build_rfm_from_transactions([{"date": "2012-01-01", "amount": 5}], date(2011, 12, 1))


def test_a_transaction_after_tomorrow_is_refused_even_before_a_later_reference_date():
    later = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    with pytest.raises(InvalidRequest, match=rf"transactions\[1\].date '{later}' is after tomorrow"):
        build_rfm_from_transactions(
            [{"date": "2025-01-01", "amount": 5}, {"date": later, "amount": 5}], date(9000, 1, 1)
        )
