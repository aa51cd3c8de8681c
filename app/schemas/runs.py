"""Runs: kept scored files, their customers, and two compared."""

from typing import Any

from pydantic import BaseModel, Field


class RunOut(BaseModel):
    """One kept run: what was scored, when, with which version, and its summary."""

    run_id: str
    created_at: str
    segmentation: str
    model_version: str
    file_name: str
    source: str = Field(description="`api` (/api/v1/predict/csv) or `page` (/score).")
    rows: int
    scored: int
    customer_id_column: str | None = Field(description="The input column of customer ids; runs are compared by it.")
    file_bytes: int
    removed_at: str | None = Field(
        description="When retention or RESULTS_MAX_BYTES removed the file (the run then answers 410)."
    )
    removed_reason: str | None
    summary: dict[str, Any]


class RunList(BaseModel):
    """Runs, newest first."""

    runs: list[RunOut]


class CustomersPage(BaseModel):
    """One page of a run's customers, each a labelled row (input columns, then the score columns)."""

    items: list[dict[str, Any]]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last one.")
    total: int = Field(description="Customers matching the filters.")


class Matrix(BaseModel):
    """Customers in both runs, counted by their segment in the first run (rows) and the second (columns)."""

    from_: list[str] = Field(alias="from")
    to: list[str]
    counts: list[list[int]]


class Comparison(BaseModel):
    """Run `a` against run `b`, matched by customer id."""

    a: str
    b: str
    segmentation: str
    matched: int = Field(description="Customers in both runs.")
    moved: int = Field(description="Customers in both runs whose segment changed.")
    new: int = Field(description="Customers only in run b.")
    lost: int = Field(description="Customers only in run a.")
    matrix: Matrix
    moved_customers: list[dict[str, str]] = Field(description="The first 100 that moved (?format=csv: all).")
    new_customers: list[dict[str, str]]
    lost_customers: list[dict[str, str]]
