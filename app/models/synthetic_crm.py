"""A generated CRM export with other columns than the bundled data: Income in dollars, Visits and Tenure."""

from pathlib import Path

import numpy as np
import pandas as pd

# Planted groups: (income $, visits per month, tenure years) centres and their share of customers.
GROUPS: dict[str, tuple[float, float, float, float]] = {
    "occasional": (32_000, 1.5, 1.0, 0.35),
    "regular": (58_000, 6.0, 4.0, 0.40),
    "affluent loyal": (135_000, 3.0, 11.0, 0.25),
}


def generate_crm(rows: int = 600, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray]:
    """The CRM table and each row's planted group (an index into GROUPS)."""
    rng = np.random.default_rng(seed)
    shares = np.array([group[3] for group in GROUPS.values()])
    plan = rng.choice(len(GROUPS), size=rows, p=shares / shares.sum())
    centres = np.array([group[:3] for group in GROUPS.values()])[plan]
    income = np.round(centres[:, 0] * rng.lognormal(0.0, 0.12, rows), -2)
    visits = np.round(centres[:, 1] * rng.lognormal(0.0, 0.15, rows), 1)
    tenure = np.round(np.clip(centres[:, 2] + rng.normal(0.0, 0.6, rows), 0.1, None), 1)
    frame = pd.DataFrame({"CustomerID": np.arange(1, rows + 1), "Income": income, "Visits": visits, "Tenure": tenure})
    return frame, plan


def write_crm(path: str | Path, rows: int = 600, seed: int = 7) -> Path:
    """Write the generated CRM export as CSV."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    generate_crm(rows, seed)[0].to_csv(path, index=False)
    return path
