"""Segment rules a CRM can use, and the feature importance recorded with a version."""

from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import example_config
from app.schemas.prediction import PREDICTION_EXAMPLE

_INCOME = {"feature": "annual_income", "column": "Annual Income (k$)"}
_SPENDING = {"feature": "spending_score", "column": "Spending Score (1-100)"}

RULES_EXAMPLE = {
    "model_version": PREDICTION_EXAMPLE["model_version"],
    "segment_id": 1,
    "segment_name": "VIP / Whale",
    "rules": ["Annual Income ≥ 54 k$ and Spending Score ≥ 68 → VIP / Whale"],
    "conditions": [[{**_INCOME, "op": ">=", "value": 54.0}, {**_SPENDING, "op": ">=", "value": 68.0}]],
    "sql": '("Annual Income (k$)" >= 54 AND "Spending Score (1-100)" >= 68)',
    "fidelity": 0.9737,
    "precision": 1.0,
    "recall": 0.9737,
    "overall_fidelity": 0.985,
    "max_depth": 3,
}

IMPORTANCE_EXAMPLE = {
    "method": "permutation",
    "measure": "share of customers whose segment changes when the feature's values are shuffled",
    "repeats": 5,
    "sample_size": 200,
    "features": [
        {"feature": "spending_score", "label": "Spending Score (1-100)", "importance": 0.503, "std": 0.017},
        {"feature": "annual_income", "label": "Annual Income (k$)", "importance": 0.486, "std": 0.031},
    ],
}


class RuleCondition(BaseModel):
    """One test on one column: `column op value`, in the feature's own units."""

    feature: str = Field(description="The feature's name in the API.")
    column: str = Field(description="The column the training file held it in (the name the SQL uses).")
    op: Literal["<", ">="] = Field(description="How the feature compares with `value`.")
    value: float = Field(description="A round number between two neighbouring training values.")


class SegmentRules(BaseModel):
    """A segment as rules a CRM or a warehouse can apply, and how faithfully they reproduce the model."""

    model_config = example_config(RULES_EXAMPLE)

    model_version: str = Field(description="The model version that answered: GET /api/v1/models/{version} shows it.")
    segment_id: int = Field(description="Stable segment id: the same segment in every model version.")
    segment_name: str = Field(description="The segment's name (the team's own, when it renamed it).")
    rules: list[str] = Field(description="Each alternative as a sentence, in the features' labels and units.")
    conditions: list[list[RuleCondition]] = Field(
        description="Alternatives (ORed), each a list of conditions (ANDed); empty when the rules give this segment "
        "no customers."
    )
    sql: str = Field(
        description="The same as an ANSI SQL WHERE clause on the source columns (double-quoted); `1 = 0` when the "
        "rules give this segment no customers."
    )
    fidelity: float = Field(ge=0, le=1, description="The lower of precision and recall.")
    precision: float = Field(
        ge=0, le=1, description="Of the training customers the rules select, the share the model put in this segment."
    )
    recall: float = Field(ge=0, le=1, description="Of the segment's training customers, the share the rules select.")
    overall_fidelity: float = Field(
        ge=0, le=1, description="Share of all training customers the rules put in the model's own segment."
    )
    max_depth: int = Field(description="Depth of the decision tree the rules were read from.")


class FeatureImportanceItem(BaseModel):
    """How much one feature decides the segment."""

    feature: str = Field(description="The feature's name, as requests give it.")
    label: str = Field(description="How pages and charts name it.")
    importance: float = Field(
        ge=0, le=1, description="Share of customers whose segment changes when this feature's values are shuffled."
    )
    std: float = Field(ge=0, description="Spread of that share over the repeats.")


class FeatureImportance(BaseModel):
    """Permutation importance of each feature for the segment assignment, most important first."""

    model_config = example_config(IMPORTANCE_EXAMPLE)

    method: str = Field(description="How importance was measured.")
    measure: str = Field(description="What the importance of a feature counts.")
    repeats: int = Field(description="Times each feature's values were shuffled.")
    sample_size: int = Field(description="Training customers shuffled (a seeded sample of large data).")
    features: list[FeatureImportanceItem] = Field(description="Every feature, most important first.")
