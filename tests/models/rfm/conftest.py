"""RFM fixtures: a generated transactions file with its plan, and a helper that writes small CSVs."""

from collections.abc import Callable
from pathlib import Path

import pytest

from app.models.synthetic_transactions import generate_transactions, write_transactions

PLANTED_CUSTOMERS = 400
PLANTED_SEED = 7


@pytest.fixture(scope="session")
def planted(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A messy online-retail transactions file with planted groups, and customer id -> group."""
    path, _ = write_transactions(
        tmp_path_factory.mktemp("rfm") / "transactions.csv", customers=PLANTED_CUSTOMERS, seed=PLANTED_SEED
    )
    _, plan = generate_transactions(PLANTED_CUSTOMERS, seed=PLANTED_SEED)
    return path, plan


@pytest.fixture
def write_csv(tmp_path) -> Callable[..., Path]:
    """Write text (lines joined by `newline`) to a CSV file and return its path."""

    def write(lines: list[str], *, name: str = "t.csv", newline: str = "\n", bom: bool = False) -> Path:
        path = tmp_path / name
        path.write_bytes(("\ufeff" if bom else "").encode() + (newline.join(lines) + newline).encode())
        return path

    return write
