"""RFM batch predict benchmark: a batch of customers by transactions built in one pass (models.rfm.batch) against
building each customer alone, as the batch route did, on the same customers in the same run."""

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


def bench_rfm_batch(mode: str) -> list[dict[str, Any]]:
    """Seconds to build a batch's customers in one pass, against one at a time, as a Figure's fields."""
    count = CUSTOMERS[mode]
    batch = customers(count)
    one_pass, alone = [], []
    for _ in range(2):  # in turns, so a slow spell of a shared machine hits both
        started = time.perf_counter()
        build_rfm_rows(batch)
        one_pass.append(time.perf_counter() - started)
        started = time.perf_counter()
        for transactions, reference in batch:
            build_rfm_from_transactions(transactions, reference)
        alone.append(time.perf_counter() - started)
    project, baseline = min(one_pass), min(alone)
    return [
        {
            "name": f"RFM batch predict body, {count:,} customers by transactions",
            "unit": "s",
            "project": project,
            "baseline": baseline,
            "ratio": baseline / project,
            "goal": "ratio >= 10",
            "met": baseline / project >= 10,
            "note": "baseline: each customer built alone (build_rfm_from_transactions), as the batch route did",
        }
    ]
