"""A generated customer file with three features (Income in dollars, Visits, Tenure) and the spec to train on it."""

from pathlib import Path

import numpy as np

from app.models.features import Feature

SPECS = [
    Feature.from_dict({"name": "income", "column": "Income", "label": "Income", "unit": "$", "transform": "log1p"}),
    Feature.from_dict({"name": "visits", "column": "Visits", "label": "Visits", "unit": "per month"}),
    Feature.from_dict({"name": "tenure", "column": "Tenure", "label": "Tenure", "unit": "years", "min": 0, "max": 60}),
]
# Three planted groups: (income $, visits per month, tenure years) centres.
GROUPS = ((25_000.0, 2.0, 1.0), (60_000.0, 8.0, 5.0), (140_000.0, 4.0, 12.0))


def write_customers(path: Path, *, per_group: int = 60, seed: int = 7) -> Path:
    """Write a CSV of customers drawn around GROUPS, with the headers the specs name."""
    rng = np.random.default_rng(seed)
    lines = ["CustomerID,Income,Visits,Tenure"]
    for g, (income, visits, tenure) in enumerate(GROUPS):
        for i in range(per_group):
            row_income = income * float(np.exp(rng.normal(0, 0.12)))
            row_visits = max(0.0, visits + float(rng.normal(0, 0.8)))
            row_tenure = max(0.0, tenure + float(rng.normal(0, 1.0)))
            lines.append(f"{g * per_group + i + 1},{row_income:.0f},{row_visits:.1f},{row_tenure:.1f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
