"""Deterministic synthetic Mall Customers data with the public dataset's five-group structure.

Run `python -m app.models.synthetic [--rows N] [--seed S] [--output PATH]`.
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.core.config import get_settings
from app.models.features import PUBLIC_HEADER

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_ROWS = 200
DEFAULT_SEED = 42
# sha256 of the default dataset as `write_customers` writes it (data/raw/mall_customers.csv): a model's recorded
# data_sha256 tells whether it was trained on these made-up customers, without generating them in a server.
BUNDLED_SHA256 = "95dfbc16c41053baedc1643b5ffed0e10a28ca903c550b34f517cdfda5892409"


@dataclass(frozen=True)
class Group:
    """One customer group: its share of rows and the spread of each column."""

    name: str
    size: int  # rows in the 200-row default; the share for other sizes
    income: tuple[float, float, int, int]  # mean, std, min, max
    score: tuple[float, float, int, int]
    age: tuple[float, float, int, int]
    female_share: float


# Centroids, sizes and spreads follow the public dataset's five natural groups.
GROUPS: tuple[Group, ...] = (
    Group("average", 81, (55.3, 9.0, 39, 76), (49.5, 6.5, 34, 61), (42.7, 16.4, 18, 70), 0.59),
    Group("high / high", 39, (86.5, 14.0, 69, 137), (82.1, 9.0, 63, 97), (32.7, 3.7, 27, 40), 0.54),
    Group("high / low", 35, (88.2, 14.0, 70, 137), (17.1, 9.5, 1, 39), (41.1, 11.3, 19, 59), 0.46),
    Group("low / low", 23, (26.3, 7.5, 15, 39), (20.9, 11.0, 3, 40), (45.2, 13.2, 19, 67), 0.61),
    Group("low / high", 22, (25.7, 7.3, 15, 39), (79.4, 10.0, 61, 99), (25.3, 5.3, 18, 35), 0.59),
)

PUBLIC_RANGES: dict[str, tuple[int, int]] = {"annual_income": (15, 137), "spending_score": (1, 99), "age": (18, 70)}


def _group_sizes(rows: int) -> np.ndarray:
    """Split `rows` across the groups by their shares (largest remainder)."""
    shares = np.array([group.size for group in GROUPS], dtype=float)
    exact = rows * shares / shares.sum()
    sizes = np.floor(exact).astype(int)
    for index in np.argsort(-(exact - sizes), kind="stable")[: rows - sizes.sum()]:
        sizes[index] += 1
    return sizes


def _draw(rng: np.random.Generator, spec: tuple[float, float, int, int], n: int) -> np.ndarray:
    """Draw whole numbers around `mean`, re-centred so small groups keep their mean."""
    mean, std, low, high = spec
    values = rng.normal(0.0, std, n)
    if n > 1:
        values -= values.mean()
    return np.clip(np.rint(values + mean), low, high).astype(np.int64)


def generate_customers(rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> "pd.DataFrame":
    """Return `rows` synthetic customers with the public Mall Customers header."""
    import pandas as pd  # only when generating: the server reads BUNDLED_SHA256 without pandas

    if rows < len(GROUPS):
        raise ValueError(f"rows must be at least {len(GROUPS)}, got {rows}")
    rng = np.random.default_rng(seed)
    parts = []
    for group, n in zip(GROUPS, _group_sizes(rows), strict=True):
        parts.append(
            pd.DataFrame(
                {
                    "gender": np.where(rng.random(n) < group.female_share, "Female", "Male"),
                    "age": _draw(rng, group.age, n),
                    "annual_income": _draw(rng, group.income, n),
                    "spending_score": _draw(rng, group.score, n),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    # The public data spans these ranges; stretch the extreme rows to them so axes match.
    for column, (low, high) in PUBLIC_RANGES.items():
        frame.loc[frame[column].idxmin(), column] = low
        frame.loc[frame[column].idxmax(), column] = high
    # Like the public file, rows are ordered by income; ties keep a seeded random order.
    order = np.lexsort((rng.random(len(frame)), frame["annual_income"].to_numpy()))
    frame = frame.iloc[order].reset_index(drop=True)
    frame.insert(0, "customer_id", np.arange(1, len(frame) + 1))
    return frame.rename(columns={snake: public for public, snake in PUBLIC_HEADER.items()})


def write_customers(path: str | Path, rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> Path:
    """Generate customers and write them as CSV, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    generate_customers(rows, seed).to_csv(tmp, index=False, lineterminator="\n")
    tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Generate the synthetic Mall Customers dataset.")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="number of customers (default 200)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default 42)")
    parser.add_argument("--output", type=Path, default=None, help="CSV path (default: the configured data path)")
    parser.add_argument(
        "--transactions",
        action="store_true",
        help="write online-retail style transactions of --rows customers instead (default data/raw/transactions.csv)",
    )
    args = parser.parse_args(argv)
    if args.rows < len(GROUPS):
        parser.error(f"--rows must be at least {len(GROUPS)}")
    if args.transactions:
        from app.models.synthetic_transactions import main_transactions

        return main_transactions(args.output, args.rows, args.seed)
    path = write_customers(args.output or get_settings().data_path, args.rows, args.seed)
    print(f"wrote {args.rows} synthetic customers to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
