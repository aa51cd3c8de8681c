"""RFM batch predict benchmark: a batch of customers by transactions built in one pass (models.rfm.batch) against
what a data scientist would write instead (pandas: one frame of every line, to_datetime, groupby), and against building
each customer alone, as the batch route did; the same customers, in the same run."""

import gc
import random
import time
from datetime import date, timedelta
from typing import Any

from app.models.rfm.batch import build_rfm_rows
from app.models.rfm.transactions import build_rfm_from_transactions

CUSTOMERS = {"full": 10_000, "quick": 2_000, "dry-run": 100}


def customers(count: int, seed: int = 1) -> list[tuple[list[dict[str, Any]], date | None]]:
    """Customers of one to five lines, dates ISO or day first, a few refunds, as a batch body holds them."""
    pick = random.Random(seed)
    batch = []
    for _ in range(count):
        lines = []
        for _ in range(pick.randint(1, 5)):
            day = date(2010, 12, 1) + timedelta(days=pick.randrange(365))
            text = day.isoformat() if pick.random() < 0.5 else day.strftime("%d/%m/%Y")
            lines.append({"date": text, "amount": round(pick.uniform(-20, 200), 2) if lines else 5.0})
        batch.append((lines, None))
    return batch


def pandas_rfm(batch: list[tuple[list[dict[str, Any]], date | None]]) -> Any:
    """RFM as a data scientist writes it: every line in one frame, dates by pandas' mixed-format parser (day first),
    then per customer recency to the day after their last line, purchases counted, net spend at no less than 0."""
    import pandas as pd

    frame = pd.DataFrame(
        [(index, line["date"], line["amount"]) for index, (lines, _) in enumerate(batch) for line in lines],
        columns=["customer", "date", "amount"],
    )
    frame["date"] = pd.to_datetime(frame["date"], format="mixed", dayfirst=True)
    grouped = frame.groupby("customer")
    reference = grouped["date"].max().dt.normalize() + pd.Timedelta(days=1)
    purchases = frame[frame["amount"] > 0].groupby("customer")
    return pd.DataFrame(
        {
            "recency_days": (reference - purchases["date"].max().dt.normalize()).dt.days,
            "frequency": purchases.size(),
            "monetary": grouped["amount"].sum().clip(lower=0),
        }
    )


def bench_rfm_batch(mode: str) -> list[dict[str, Any]]:
    """Seconds to build a batch's customers in one pass, against one at a time, as a Figure's fields."""
    count = CUSTOMERS[mode]
    batch = customers(count)
    build_rfm_rows(batch[:50]), pandas_rfm(batch[:50])  # first calls: imports and caches, not the work
    one_pass, pandas = [], []
    for _ in range(3):  # in turns, so a slow spell of a shared machine hits both
        gc.collect()
        started = time.perf_counter()
        build_rfm_rows(batch)
        one_pass.append(time.perf_counter() - started)
        gc.collect()
        started = time.perf_counter()
        pandas_rfm(batch)
        pandas.append(time.perf_counter() - started)
    # Once, after: tens of seconds at full size, and the garbage it leaves slowed whatever ran next.
    gc.collect()
    started = time.perf_counter()
    for transactions, reference in batch:
        build_rfm_from_transactions(transactions, reference)
    baseline = time.perf_counter() - started
    project, user = min(one_pass), min(pandas)
    return [
        {
            "name": f"RFM batch predict body against pandas, {count:,} customers by transactions",
            "unit": "s",
            "project": project,
            "baseline": user,
            "ratio": user / project,
            "goal": "ratio >= 1",
            "met": user / project >= 1,
            "note": "baseline: one pandas frame of every line, to_datetime(format='mixed', dayfirst=True), groupby; "
            "it reads each date on its own (an ISO date day first too), the project each customer's dates alike",
        },
        {
            "name": f"RFM batch predict body, {count:,} customers by transactions",
            "unit": "s",
            "project": project,
            "baseline": baseline,
            "ratio": baseline / project,
            "goal": "ratio >= 10",
            "met": baseline / project >= 10,
            "note": "baseline: each customer built alone (build_rfm_from_transactions), as the batch route did",
        },
    ]
