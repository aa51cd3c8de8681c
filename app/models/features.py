"""The customer columns the project knows: names, labels and valid ranges."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Feature:
    """A numeric customer column that a model can be trained on."""

    name: str
    label: str
    noun: str
    unit: str
    # The values accepted anywhere: by the API, the pages and training. The one source of these bounds.
    minimum: float
    maximum: float
    # For sentences about training ranges: "the incomes this model was trained on (15–137 k$)".
    plural: str = ""
    short_unit: str = ""

    def range_text(self) -> str:
        """Describe the valid range for error messages."""
        return f"between {self.minimum:,g} and {self.maximum:,g}"


FEATURES: dict[str, Feature] = {
    feature.name: feature
    for feature in (
        Feature("annual_income", "Annual Income (k$)", "Income", "k$", 0.0, 10_000.0, "incomes", "k$"),
        Feature("spending_score", "Spending Score (1-100)", "Spending", "1 to 100", 1.0, 100.0, "spending scores"),
        Feature("age", "Age", "Age", "years", 0.0, 130.0, "ages", "years"),
    )
}

DEFAULT_FEATURES: tuple[str, ...] = ("annual_income", "spending_score")

# The public Mall Customers header, mapped to the snake_case names used everywhere else.
PUBLIC_HEADER: dict[str, str] = {
    "CustomerID": "customer_id",
    "Gender": "gender",
    "Age": "age",
    "Annual Income (k$)": "annual_income",
    "Spending Score (1-100)": "spending_score",
}

COLUMNS: tuple[str, ...] = tuple(PUBLIC_HEADER.values())


def normalise_column(name: str) -> str:
    """The feature (or known column) a header name stands for: the public header's name, else snake_case as given."""
    stripped = name.strip().lstrip("\ufeff").strip()
    return PUBLIC_HEADER.get(stripped, stripped.lower())


def wanted_columns(names: list[str]) -> str:
    """Missing feature columns for a message: "'Annual Income (k$)' (or 'annual_income')", joined by commas."""
    return ", ".join(f"'{FEATURES[name].label}' (or '{name}')" if name in FEATURES else f"'{name}'" for name in names)
