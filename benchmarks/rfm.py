"""RFM build benchmark: `python -m app.cli rfm build` against the pandas script a user would write, on one
transactions CSV, each in its own process so that its wall time and peak RSS are its own.

The file has one date format (the public online-retail file's), so the baseline can parse it with an explicit
format as a user would; RFM_BENCH_ROWS overrides the row count of the mode.
"""

import os
import sys
from pathlib import Path
from typing import Any

from app.models.synthetic_transactions import write_transactions
from benchmarks.scoring import run_measured

ROWS = {"full": 10_000_000, "quick": 1_000_000, "dry-run": 20_000}

# What a user would write: read_csv with the date column parsed by its explicit format, then groupby().agg().
BASELINE = """
import sys
import pandas as pd
source, target = sys.argv[1:3]
df = pd.read_csv(
    source,
    usecols=["InvoiceNo", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"],
    dtype={"InvoiceNo": str},
    parse_dates=["InvoiceDate"],
    date_format="%m/%d/%y %H:%M",
)
df = df.dropna(subset=["CustomerID"])
df["Amount"] = df["Quantity"] * df["UnitPrice"]
purchase = ~df["InvoiceNo"].str.startswith("C")
df["Order"] = df["InvoiceNo"].where(purchase)
df["Purchased"] = df["InvoiceDate"].where(purchase)
reference = df["InvoiceDate"].max().normalize() + pd.Timedelta(days=1)
rfm = df.groupby("CustomerID").agg(
    last=("Purchased", "max"), frequency=("Order", "nunique"), monetary=("Amount", "sum")
)
rfm["recency_days"] = (reference - rfm["last"].dt.normalize()).dt.days
rfm.to_csv(target)
"""


def bench_rfm(mode: str, workdir: Path) -> list[dict[str, Any]]:
    """RFM build speed and peak RSS against the pandas baseline, as Figure fields."""
    rows = int(os.environ.get("RFM_BENCH_ROWS") or ROWS[mode])
    source, written = write_transactions(workdir / "rfm-transactions.csv", rows=rows, mixed_dates=False)
    out = workdir / "rfm-out.csv"
    runs = 3  # the best of three: a shared machine's slow spells hit either side
    project, baseline = [], []
    for _ in range(runs):  # in turns, so a slow spell of a shared machine hits both
        baseline.append(run_measured([sys.executable, "-c", BASELINE, str(source), str(out)], {}))
        project.append(
            run_measured([sys.executable, "-m", "app.cli", "rfm", "build", str(source), str(out), "--quiet"], {})
        )
    (project_s, project_mb), (base_s, base_mb) = min(project), min(baseline)
    return [
        {
            "name": f"RFM build, {written:,}-row transactions CSV",
            "unit": "s",
            "project": project_s,
            "baseline": base_s,
            "ratio": base_s / project_s,
            "goal": "ratio >= 2",
            "met": base_s / project_s >= 2,
            "note": "baseline: pd.read_csv with an explicit date format, then groupby().agg()",
        },
        {
            "name": f"RFM build peak RSS, {written:,} rows",
            "unit": "MB",
            "project": project_mb,
            "baseline": base_mb,
            "ratio": base_mb / project_mb,
            "goal": "ratio >= 2 (<= 50% of the baseline's)",
            "met": base_mb / project_mb >= 2,
            "note": "baseline: the same pandas script",
        },
    ]
