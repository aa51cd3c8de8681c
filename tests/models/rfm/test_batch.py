"""The one-pass build of a batch's customers gives each the answer of their own build, or leaves them to it."""

import random
from datetime import date, timedelta

import pytest

from app.core.errors import InvalidRequest
from app.models.rfm.batch import RFM_NAMES, build_rfm_rows
from app.models.rfm.transactions import build_rfm_from_transactions
from app.models.segmentations.spec import RfmOptions


def _alone(transactions, reference, options):
    """One customer built alone: their three features, or None when their build refuses them."""
    try:
        row = build_rfm_from_transactions([dict(item) for item in transactions], reference, options=options)
    except InvalidRequest:
        return None
    return {name: float(row[name]) for name in RFM_NAMES}


def _varied(seed: int, count: int) -> list[tuple[list[dict], date | None]]:
    """Customers of every kind: date shapes (day or month first, decided by each customer's own dates), times,
    zones, refunds, cancelled orders, order ids or none, quantity x price, one line or many, and some refused."""
    pick = random.Random(seed)
    shapes = [
        lambda d: d.isoformat(),
        lambda d: d.strftime("%d/%m/%Y"),
        lambda d: d.strftime("%m/%d/%Y %H:%M"),
        lambda d: d.strftime("%d.%m.%Y"),
        lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"),
        lambda d: d.strftime("%m/%d/%y"),
        lambda d: d.strftime("%Y-%m-%d %H:%M:%S.250"),
    ]
    customers = []
    for _ in range(count):
        lines = []
        for _ in range(pick.choice([1, 1, 2, 3, 7, 40])):
            day = date(2010, 1, 1) + timedelta(days=pick.randrange(700), seconds=pick.randrange(86_400))
            when = pick.choice(shapes[:2]) if pick.random() < 0.5 else pick.choice(shapes)
            line: dict = {"date": when(day)}
            if pick.random() < 0.3:
                line.update(quantity=pick.randrange(-3, 9), unit_price=round(pick.uniform(0.1, 50), 2))
            else:
                line["amount"] = (
                    round(pick.uniform(-60, 400), 2) if pick.random() < 0.2 else round(pick.uniform(0.1, 400), 3)
                )
            if pick.random() < 0.4:
                line["order_id"] = pick.choice(["A1", "A2", "C9", 536365, 536366, "0042"])
            lines.append(line)
        roll = pick.random()
        if roll < 0.03:
            lines.append({"date": "31/02/2011", "amount": 5})  # a day February does not have
        elif roll < 0.05:
            lines.append({"date": "2099-01-01", "amount": 5})  # in the future
        elif roll < 0.07:
            lines = [{"date": "2011-01-01", "amount": -5}]  # a return only
        elif roll < 0.08:
            lines.append({"date": "2011-01-01", "amount": 5, "colour": "red"})
        reference = pick.choice([None, None, date(2012, 12, 31), date(2011, 6, 1)])
        customers.append((lines, reference))
    return customers


@pytest.mark.parametrize("options", [RfmOptions(), RfmOptions(monetary="average"), RfmOptions(date_format="%d/%m/%Y")])
def test_each_customer_gets_their_own_builds_answer(options):
    customers = _varied(7, 400)
    rows = build_rfm_rows(customers, options=options)
    # Left out (None): exactly the customers their own build refuses.
    assert rows == [_alone(transactions, reference, options) for transactions, reference in customers]
    assert sum(row is not None for row in rows) > 20


def test_date_formats_are_guessed_per_customer():
    # 03/04 is April the 3rd beside a 13/04 of the same customer, March the 4th for a customer of US dates.
    customers = [
        ([{"date": "03/04/2011", "amount": 1}, {"date": "13/04/2011", "amount": 1}], date(2011, 5, 1)),
        ([{"date": "03/04/2011", "amount": 1}, {"date": "03/14/2011", "amount": 1}], date(2011, 5, 1)),
    ]
    rows = build_rfm_rows(customers)
    assert rows == [_alone(*customer, RfmOptions()) for customer in customers]
    assert rows[0]["recency_days"] == 18 and rows[1]["recency_days"] == 48


def test_a_refused_customer_is_left_to_their_own_build():
    customers = [
        ([{"date": "2011-01-01", "amount": 5}], None),
        ([{"date": "2099-01-01", "amount": 5}], None),
        ([], None),
    ]
    rows = build_rfm_rows(customers)
    assert rows[0] == _alone(*customers[0], RfmOptions())
    assert rows[1:] == [None, None]


def test_a_customer_of_many_date_shapes_learns_the_rest_as_their_own_parse_does():
    # Nine shapes and more: the guess from the sample takes eight, the parse learns the others from what it could
    # not read (and still refuses a date none fits).
    texts = ["2011-01-01", "2011-01-01 10:00", "2011-01-01 10:00:00", "2011-01-01T10:00", "01/02/2011", "2011.01.02",
             "01.02.2011", "01-02-2011", "01/02/2011 10:00", "01.02.2011 10:00"]  # fmt: skip
    many = [{"date": text, "amount": 3} for text in texts]
    customers = [(many, None), ([*many, {"date": "2011/01/40", "amount": 1}], None), (many[:2], None)]
    rows = build_rfm_rows(customers)
    assert rows == [_alone(*customer, RfmOptions()) for customer in customers]
    assert rows[0] is not None and rows[1] is None
