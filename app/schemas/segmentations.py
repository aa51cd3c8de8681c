"""Requests and answers of /api/v1/segmentations: create, describe, and predict by a segmentation's features."""

from datetime import date
from typing import Annotated, Any, Literal, NotRequired

from pydantic import BaseModel, Field, StringConstraints, TypeAdapter
from typing_extensions import TypedDict

from app.schemas.common import example_config
from app.schemas.prediction import MAX_BATCH_SIZE, CustomerId, OptionalCustomerId

FeatureName = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Text = Annotated[str, StringConstraints(max_length=200)]


class FeatureItem(BaseModel):
    """One feature of a `columns` segmentation: where a file holds it and what it means."""

    model_config = example_config(
        {"name": "income", "column": "Income", "label": "Income", "unit": "$", "transform": "log1p", "min": 0},
        extra="forbid",
    )

    name: str = Field(description="The feature's name in requests: lowercase letters, digits and '_'.")
    column: str = Field(description="The column of a customer file that holds it.")
    label: str | None = Field(None, description="How pages and charts name it (default: from the name).")
    unit: str | None = Field(None, description="Its unit, shown next to values: '$', 'visits', 'years'.")
    transform: Literal["none", "log1p"] = Field(
        "none", description="`log1p` clusters log(1 + x): for skewed money and count columns."
    )
    min: float | None = Field(None, description="The smallest value a request may give (a 422 below it).")
    max: float | None = Field(None, description="The largest value a request may give (a 422 above it).")


class RfmColumns(BaseModel):
    """Which columns of a transactions file hold what; any left out are detected from the header."""

    model_config = example_config(
        {"customer_id": "CustomerID", "date": "InvoiceDate", "quantity": "Quantity", "unit_price": "UnitPrice"},
        extra="forbid",
    )

    customer_id: Text | None = Field(None, description="The column of customer ids.")
    date: Text | None = Field(None, description="The column of each line's date (or date and time).")
    amount: Text | None = Field(None, description="The column of each line's value; else quantity x unit_price.")
    quantity: Text | None = Field(None, description="The column of quantities, with unit_price, when no amount.")
    unit_price: Text | None = Field(None, description="The column of unit prices, with quantity.")
    order_id: Text | None = Field(
        None, description="The column of order ids: frequency counts orders rather than lines; a C prefix is a return."
    )


class SegmentationIn(BaseModel):
    """A segmentation to create: `columns` over chosen numeric columns, or `rfm` built from transactions."""

    model_config = example_config(
        {
            "name": "loyalty",
            "kind": "columns",
            "features": [
                {"name": "income", "column": "Income", "label": "Income", "unit": "$", "transform": "log1p"},
                {"name": "visits", "column": "Visits", "label": "Visits", "unit": "visits", "transform": "log1p"},
                {"name": "tenure", "column": "Tenure", "label": "Tenure", "unit": "years", "transform": "none"},
            ],
        },
        extra="forbid",
    )

    name: str = Field(description="2-40 characters: a lowercase letter, then lowercase letters, digits or '-'.")
    kind: Literal["columns", "rfm"] = Field(
        "columns",
        description="`columns`: over chosen numeric columns; `rfm`: recency, frequency, monetary built "
        "from a transactions file.",
    )
    features: list[FeatureItem] | None = Field(None, description="2 to 8 features (the `columns` kind).")
    columns: RfmColumns | None = Field(None, description="RFM only: the transactions file's columns.")
    monetary: Literal["total", "average"] | None = Field(
        None, description="RFM only: monetary as the net total (default) or the average order value."
    )
    non_positive: Literal["flag", "drop"] | None = Field(
        None, description="RFM only: customers whose net spend is <= 0 are kept and flagged (default) or dropped."
    )
    date_format: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        None, description="RFM only: a strptime format for the date column, e.g. '%d/%m/%Y %H:%M' (else inferred)."
    )
    description: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        None, description="What the segmentation is for, shown on /models."
    )


class TransactionIn(TypedDict):
    """One purchase (or return: a negative amount or quantity) of the customer being segmented."""

    __pydantic_config__ = example_config(  # type: ignore[misc]
        {"date": "2026-11-02", "amount": 54.2, "order_id": "A-1001"}, extra="forbid"
    )

    date: Annotated[
        str,
        StringConstraints(min_length=1, max_length=40),
        Field(description="When: ISO (2026-11-02), or in the date format the version was trained with."),
    ]
    amount: NotRequired[Annotated[Number, Field(description="The line's value; else quantity x unit_price.")]]
    quantity: NotRequired[Annotated[Number, Field(description="With unit_price, when there is no amount.")]]
    unit_price: NotRequired[Annotated[Number, Field(description="With quantity, when there is no amount.")]]
    order_id: NotRequired[CustomerId]


class FeaturesCustomerIn(TypedDict):
    """One customer, by the segmentation's features (or, for `rfm`, by their transactions)."""

    # A TypedDict validates about twice as fast as a model: this is the hot path of a segmentation's predict.
    __pydantic_config__ = example_config(  # type: ignore[misc]
        {"features": {"recency_days": 12, "frequency": 4, "monetary": 310.5}, "customer_id": "C-1042"},
        extra="forbid",
    )

    features: NotRequired[
        Annotated[
            dict[FeatureName, Number],
            Field(max_length=8, description="The customer's value of every feature of the served version."),
        ]
    ]
    customer_id: NotRequired[OptionalCustomerId]
    transactions: NotRequired[
        Annotated[
            list[TransactionIn],
            Field(
                min_length=1, max_length=10_000, description="RFM only: the customer's purchases, instead of features."
            ),
        ]
    ]
    reference_date: NotRequired[
        Annotated[
            date,
            Field(
                description="RFM only: the day recency is counted to, 1900-01-01 to 9000-12-31 (default: the "
                "version's training reference day)."
            ),
        ]
    ]


FeaturesCustomerValidator = TypeAdapter(FeaturesCustomerIn)


class FeaturesBatchIn(BaseModel):
    """Several customers of one segmentation."""

    model_config = example_config(
        {"customers": [{"features": {"recency_days": 12, "frequency": 4, "monetary": 310.5}, "customer_id": 7}]},
        extra="forbid",
    )

    customers: list[FeaturesCustomerIn] = Field(
        min_length=1, max_length=MAX_BATCH_SIZE, description="1 to MAX_BATCH_SIZE customers, answered in this order."
    )


SEGMENTATION_EXAMPLE = {
    "name": "loyalty",
    "kind": "columns",
    "features": [
        {
            "name": "income",
            "column": "Income",
            "label": "Income",
            "unit": "$",
            "transform": "log1p",
            "min": 0,
            "max": None,
        },
        {
            "name": "visits",
            "column": "Visits",
            "label": "Visits",
            "unit": "",
            "transform": "log1p",
            "min": 0,
            "max": None,
        },
    ],
    "active_version": None,
    "ready": False,
}


class SegmentationOut(BaseModel):
    """A segmentation: its spec, the served version and the links to use it."""

    model_config = example_config(SEGMENTATION_EXAMPLE, extra="allow")

    name: str = Field(description="The segmentation's name, in its routes' paths.")
    kind: str = Field(description="`columns` or `rfm`.")
    features: list[dict[str, Any]] = Field(description="Its features as created: name, column, label, unit, transform.")
    active_version: str | None = Field(description="The version it serves; null before one is trained.")
    ready: bool = Field(description="Whether a version is loaded and predictions can be answered.")


class SegmentationList(BaseModel):
    """Every segmentation, `default` first."""

    model_config = example_config({"segmentations": [SEGMENTATION_EXAMPLE], "count": 1})

    segmentations: list[SegmentationOut] = Field(description="Every segmentation, `default` first.")
    count: int = Field(description="How many there are.")


class ColumnProfile(BaseModel):
    """One column of a profiled file, with a suggested feature for it."""

    model_config = example_config(
        {
            "column": "Income",
            "name": "income",
            "label": "Income",
            "unit": "",
            "numeric": True,
            "numeric_share": 1.0,
            "missing": 0,
            "min": 24000.0,
            "max": 181900.0,
            "mean": 71000.0,
            "range": {"min": 0.0, "max": None},
            "id_like": False,
        },
        extra="allow",
    )

    column: str = Field(description="The column as the file names it.")
    name: str = Field(description="A suggested feature name.")
    label: str = Field(description="A suggested label for pages and charts.")
    unit: str = Field(description="A suggested unit, read from the column name ('' when none).")
    numeric: bool = Field(description="At least 95% of its non-empty values are numbers.")
    missing: int = Field(description="Empty values among the rows read.")
    id_like: bool = Field(description="Distinct whole numbers in order: an id, best left out.")
    range: dict[str, float | None] | None = Field(
        None,
        description="A suggested validation range: `min` 0 for data that is never negative, `max` null (no bound). "
        "Never the data's own range, which would refuse later customers a little outside it.",
    )


class FileProfile(BaseModel):
    """A customer file's layout, first rows and columns, to choose a segmentation's features from."""

    model_config = example_config(
        {
            "delimiter": ",",
            "decimal_comma": False,
            "bom": False,
            "line_end": "\n",
            "header": ["CustomerID", "Income"],
            "rows": [["1", "52000"]],
            "rows_read": 1,
            "skipped_rows": {},
            "first_skipped_line": None,
            "sampled": False,
            "columns": [ColumnProfile.model_config["json_schema_extra"]["examples"][0]],
        },
        extra="allow",
    )

    delimiter: str = Field(description="The delimiter detected.")
    header: list[str] = Field(description="The header row's column names.")
    rows: list[list[str]] = Field(description="The first rows, as written.")
    rows_read: int = Field(description="Rows read into the columns (the profile's), skipped rows not included.")
    skipped_rows: dict[str, int] = Field(
        description="Rows left out, per reason: a row without the header's number of fields cannot be placed in "
        "columns (`wrong number of fields`); training drops and counts it too. A file most of whose rows do not "
        "fit its header is refused instead."
    )
    first_skipped_line: int | None = Field(description="The line of the first skipped row; null when none was.")
    sampled: bool = Field(description="Whether only the start of a large file was read.")
    columns: list[ColumnProfile] = Field(description="Every column of the header, in its order.")
