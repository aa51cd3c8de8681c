"""Runs: kept scored files, their customers, and two compared."""

from typing import Any

from pydantic import BaseModel, Field

from app.schemas.common import example_config

RUN_EXAMPLE: dict[str, Any] = {
    "run_id": "3f2b9c0e6d1a4b7c8e9f0a1b2c3d4e5f",
    "created_at": "2026-12-06T07:12:00+00:00",
    "segmentation": "default",
    "model_version": "20261206.061221.558018-95dfbc1de1",
    "file_name": "customers_march",
    "source": "api",
    "rows": 5000,
    "scored": 4998,
    "customer_id_column": "CustomerID",
    "file_bytes": 183_422,
    "removed_at": None,
    "removed_reason": None,
    "summary": {"model_version": "20261206.061221.558018-95dfbc1de1", "rows": 5000, "scored": 4998, "segments": []},
}
ROW_EXAMPLE: dict[str, Any] = {
    "CustomerID": "C1042",
    "Annual Income (k$)": "88",
    "Spending Score (1-100)": "91",
    "segment_id": 2,
    "segment_name": "VIP / Whale",
    "confidence": 0.8497,
    "distance": 0.285,
    "is_atypical": False,
    "out_of_range": False,
}


class RunOut(BaseModel):
    """One kept run: what was scored, when, with which version, and its summary."""

    model_config = example_config(RUN_EXAMPLE)

    run_id: str = Field(description="The run's id, in its routes (/api/v1/runs/{run_id}).")
    created_at: str = Field(description="When the file was scored (UTC, ISO 8601).")
    segmentation: str = Field(description="The segmentation it was scored with.")
    model_version: str = Field(description="The model version that scored it.")
    file_name: str = Field(description="The uploaded file's name.")
    source: str = Field(description="`api` (/api/v1/predict/csv) or `page` (/score).")
    rows: int = Field(description="Data rows read.")
    scored: int = Field(description="Rows given a segment.")
    customer_id_column: str | None = Field(description="The input column of customer ids; runs are compared by it.")
    file_bytes: int = Field(description="Size of the kept labelled rows, in bytes (counted in RESULTS_MAX_BYTES).")
    removed_at: str | None = Field(
        description="When retention or RESULTS_MAX_BYTES removed the file (the run then answers 410)."
    )
    removed_reason: str | None = Field(description="Why the file was removed; null while it is kept.")
    summary: dict[str, Any] = Field(description="The scoring summary, as POST /api/v1/predict/csv answered it.")


class RunList(BaseModel):
    """Runs, newest first."""

    model_config = example_config({"runs": [RUN_EXAMPLE]})

    runs: list[RunOut] = Field(description="The runs, newest first.")


class CustomersPage(BaseModel):
    """One page of a run's customers, each a labelled row (input columns, then the score columns)."""

    model_config = example_config({"items": [ROW_EXAMPLE], "next_cursor": "NTA6YjFjMmQzZTRmNWE2", "total": 1240})

    items: list[dict[str, Any]] = Field(description="The customers of this page, each its labelled row.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last one.")
    total: int = Field(description="Customers matching the filters.")


class Matrix(BaseModel):
    """Customers in both runs, counted by their segment in the first run (rows) and the second (columns)."""

    from_: list[str] = Field(alias="from", description="The segments in run a: the rows.")
    to: list[str] = Field(description="The segments in run b: the columns.")
    counts: list[list[int]] = Field(description="Customers per segment in a (row) and in b (column).")


class Comparison(BaseModel):
    """Run `a` against run `b`, matched by customer id."""

    model_config = example_config(
        {
            "a": "3f2b9c0e6d1a4b7c8e9f0a1b2c3d4e5f",
            "b": "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
            "segmentation": "default",
            "matched": 4800,
            "moved": 312,
            "new": 198,
            "lost": 200,
            "matrix": {"from": ["VIP / Whale", "Budget Conscious"], "to": ["VIP / Whale", "Budget Conscious"],
                       "counts": [[2100, 150], [162, 2388]]},
            "moved_customers": [{"customer_id": "C1042", "from": "Budget Conscious", "to": "VIP / Whale"}],
            "new_customers": [{"customer_id": "C5001", "segment": "VIP / Whale"}],
            "lost_customers": [{"customer_id": "C0007", "segment": "Budget Conscious"}],
        }
    )  # fmt: skip

    a: str = Field(description="The first run's id.")
    b: str = Field(description="The second run's id.")
    segmentation: str = Field(description="The segmentation both were scored with.")
    matched: int = Field(description="Customers in both runs.")
    moved: int = Field(description="Customers in both runs whose segment changed.")
    new: int = Field(description="Customers only in run b.")
    lost: int = Field(description="Customers only in run a.")
    matrix: Matrix = Field(description="Where the matched customers went.")
    moved_customers: list[dict[str, str]] = Field(description="The first 100 that moved (?format=csv: all).")
    new_customers: list[dict[str, str]] = Field(description="The first 100 only in run b (?format=csv: all).")
    lost_customers: list[dict[str, str]] = Field(description="The first 100 only in run a (?format=csv: all).")
