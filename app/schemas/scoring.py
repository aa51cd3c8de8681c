"""Requests and responses for scoring a whole customer file (/api/v1/predict/csv and /score)."""

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from app.schemas.common import example_config

# The columns that extra_columns= may ask for (the scoring service's table of extra columns holds the same names).
ExtraColumn = Literal["runner_up", "description", "marketing_strategy"]


def _feature_column(value: str) -> str:
    """A `feature:column` pair as given, or why it is not one."""
    feature, colon, column = value.partition(":")
    if not (colon and feature.strip() and column.strip()):
        raise ValueError("give each column= as feature:column, such as visits:Visits per month")
    return value


# `visits:Visits per month`: a feature's name (lowercase, digits and underscores: never a colon), then the column.
# The schema states the shape as a pattern (a name without a colon, a colon, a column that is not blank) for clients
# and API fuzzers; _feature_column says what is wrong with a value that misses it.
FeatureColumn = Annotated[
    str,
    Field(max_length=300, json_schema_extra={"pattern": r"^[^:]*[^:\s][^:]*:[\s\S]*\S[\s\S]*$"}),
    AfterValidator(_feature_column),
]


class ScoreQuery(BaseModel):
    """How to read the uploaded file and what to do with its bad rows."""

    on_error: Literal["flag", "skip", "reject"] = Field(
        "flag",
        description="flag: keep bad rows with empty segment columns and an `error` column; skip: leave them out; "
        "reject: stop with 422 at the first bad row. Counts per reason are in the summary either way. For an RFM "
        "segmentation's transactions file, reject stops at the first bad transaction line; under flag and skip bad "
        "lines are left out and counted, and a customer with no usable line is the bad row (kept with why, or "
        "left out).",
    )
    delimiter: Literal[",", ";", "comma", "semicolon"] | None = Field(
        None, description="Field delimiter; sniffed from the header line when not given."
    )
    income_column: str | None = Field(None, max_length=200, description="Column holding annual income (k$).")
    spending_column: str | None = Field(None, max_length=200, description="Column holding the spending score.")
    column: list[FeatureColumn] = Field(
        default_factory=list,
        max_length=20,
        description="The file's column for a feature of the segmentation, as `feature:column`, repeated for several: "
        "`?column=visits:Visits%20per%20month&column=tenure_months:Tenure`. The feature is its name in the "
        "segmentation (the `features` of its `model/info`); everything after the first `:` is the column as the "
        "header names it, spaces, colons and any other characters included (leading and trailing spaces aside). A "
        "feature not named here is found by its own column, as usual. `column=annual_income:X` is "
        "`income_column=X`, `column=spending_score:X` is `spending_column=X`.",
    )
    id_column: str | None = Field(None, max_length=200, description="Column holding the customer id.")
    formula_guard: bool = Field(
        True,
        description="Text cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab, "
        "carriage return or line feed, or a full-width `＝`, `＋`, `－` or `＠`, and not a plain number) get a leading "
        "`'` in the labelled file; false writes them unchanged, for programs rather than spreadsheets.",
    )
    excel: bool = Field(
        False,
        description="Start the labelled file with a UTF-8 byte order mark, so that Excel reads it as UTF-8 (a file "
        "sent with one keeps it either way).",
    )
    extra_columns: list[ExtraColumn] = Field(
        default_factory=list,
        max_length=3,
        description="More columns to append after the score columns, repeated to ask for several: `runner_up` (the "
        "second-nearest segment), `description` and `marketing_strategy` (of the customer's segment).",
    )
    explain: bool = Field(
        False,
        description="Append why each customer is in their segment: per feature `typical_low_<feature>` and "
        "`typical_high_<feature>` (the segment's p10–p90), `position_<feature>` (below, within or above), "
        "`share_of_distance_<feature>` and `share_of_margin_<feature>`, then `confidence_text`.",
    )

    target_segment: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="A segment (id or name) to move every customer into: adds `change_<feature>` columns, the smallest "
        "signed change of each feature that makes the model put the customer there (0 when already there), and "
        "`reachable`. A file may instead name each row's target in a `target_segment` column.",
    )

    def separator(self) -> str | None:
        """The delimiter as a character."""
        return {"comma": ",", "semicolon": ";"}.get(self.delimiter or "", self.delimiter)

    def feature_columns(self) -> tuple[tuple[str, str], ...]:
        """The `column=` pairs as (feature, column)."""
        # Stripped as the header's names are when a file is read.
        pairs = (item.partition(":") for item in self.column)
        return tuple((feature.strip(), column.strip()) for feature, _, column in pairs)


class FeatureProfile(BaseModel):
    """One feature of the customers in one segment."""

    mean: float = Field(description="Mean over the segment's scored customers.")
    min: float = Field(description="Smallest value among them.")
    max: float = Field(description="Largest value among them.")


class SegmentSummary(BaseModel):
    """How many uploaded customers fell in one segment, and what they look like."""

    segment_id: int = Field(description="Stable segment id: the same segment in every model version.")
    segment_name: str = Field(description="The segment's name (the team's own, when it renamed it).")
    count: int = Field(ge=0, description="Scored customers in this segment.")
    share: float = Field(ge=0, le=1, description="Share of the scored customers.")
    profile: dict[str, FeatureProfile] = Field(
        description="Income and spending (and age when the file has it) of this segment's customers."
    )
    gender: dict[str, float] | None = Field(description="Share of each gender value, when the file has the column.")


SUMMARY_EXAMPLE = {
    "model_version": "20261126.165110-95dfbc16",
    "rows": 3,
    "scored": 2,
    "flagged": 1,
    "skipped": 0,
    "bad_rows": 1,
    "errors": {"missing Annual Income (k$)": 1},
    "on_error": "flag",
    "delimiter": ",",
    "columns": {
        "annual_income": "Annual Income (k$)",
        "spending_score": "Spending Score (1-100)",
        "customer_id": "CustomerID",
        "age": "Age",
        "gender": "Gender",
    },
    "segments": [
        {
            "segment_id": 1,
            "segment_name": "VIP / Whale",
            "count": 2,
            "share": 1.0,
            "profile": {
                "annual_income": {"mean": 122.0, "min": 120.0, "max": 124.0},
                "spending_score": {"mean": 92.0, "min": 90.0, "max": 94.0},
                "age": {"mean": 40.0, "min": 30.0, "max": 50.0},
            },
            "gender": {"Female": 0.5, "Male": 0.5},
        }
    ],
}


class Diagnosis(BaseModel):
    """Why no row of a file could be scored, and what to do."""

    cause: str = Field(description="A machine-readable name of the cause.", examples=["scale"])
    message: str = Field(
        description="What is wrong and what to do, in words.",
        examples=["income looks like dollars, this segmentation expects k$: divide the values by 1,000"],
    )


class ScoreSummaryOut(BaseModel):
    """What scoring a file found: counts and profiles per segment, bad rows per reason, the model version."""

    model_config = example_config(SUMMARY_EXAMPLE)

    model_version: str = Field(description="The model version that answered: GET /api/v1/models/{version} shows it.")
    rows: int = Field(ge=0, description="Data rows read.")
    scored: int = Field(ge=0, description="Rows given a segment.")
    flagged: int = Field(ge=0, description="Bad rows kept with an `error` (on_error=flag).")
    skipped: int = Field(ge=0, description="Bad rows left out (on_error=skip, and rows with the wrong field count).")
    bad_rows: int = Field(ge=0, description="Rows that could not be scored: flagged and skipped together.")
    errors: dict[str, int] = Field(description="Bad rows per reason.")
    on_error: str = Field(description="What was done with bad rows: flag, skip or reject.")
    delimiter: str = Field(description="The delimiter the file was read with (given, or detected).")
    columns: dict[str, str | None] = Field(description="Which input column was read for each thing.")
    segments: list[SegmentSummary] = Field(description="Every segment with its scored customers.")
    transactions: dict[str, Any] | None = Field(
        None,
        description="An RFM segmentation's file is transactions: rows read, rows without a customer id, "
        "cancellation rows, bad lines per reason (unparseable or future dates, amounts missing or not numbers, the "
        "wrong number of fields), the date formats inferred, the reference date, the customers built and those "
        "without a usable line.",
    )
    diagnosis: Diagnosis | None = Field(None, description="When no row could be scored: the likely reason.")
    warnings: list[str] | None = Field(
        None, description="Features most of whose values lie outside the training range: the likely slip of unit."
    )
    run_id: str | None = Field(
        None, description="The run this file was kept as (GET /api/v1/runs/{run_id}); null when none was kept."
    )
    run_not_kept: str | None = Field(
        None,
        description="Why the file scored was not kept as a run (the database unavailable, the disk full, the file "
        "over RESULTS_MAX_BYTES), as the `X-Run-Not-Kept` header says too; null when it was kept or runs are off.",
    )
