"""Requests and answers for "what would move this customer into segment X" (/predict/counterfactual)."""

from typing import Annotated

from pydantic import BaseModel, Field

from app.schemas.common import example_config
from app.schemas.prediction import CustomerIn
from app.schemas.segmentations import FeaturesCustomerIn

TargetSegment = Annotated[
    Annotated[int, Field(strict=True)] | Annotated[str, Field(min_length=1, max_length=100)],
    # An id, not a name: ids are stable across versions, names change when a team renames a segment.
    Field(description="The segment to move the customer into: its id, or its name.", examples=[1]),
]
Immutable = Annotated[
    list[Annotated[str, Field(max_length=40)]],
    Field(max_length=8, description="Features that cannot change (age, say): they keep the customer's value."),
]
# Bounded: a weight of 1e-200 made the solver's scaled constraints overflow, and its "reachable" point stayed in the
# current segment. A million to one between two features is far beyond any real cost ratio.
MIN_WEIGHT, MAX_WEIGHT = 1e-3, 1e3
Weight = Annotated[float, Field(strict=True, ge=MIN_WEIGHT, le=MAX_WEIGHT, allow_inf_nan=False)]
Weights = Annotated[
    dict[Annotated[str, Field(max_length=40)], Weight],
    Field(
        max_length=8,
        description="How costly a change of each feature is, per standard deviation squared (default 1 each, "
        "from 0.001 to 1000): a weight of 4 makes a feature's change count twice as far, so the answer leans on the "
        "others.",
    ),
]


class CounterfactualIn(BaseModel):
    """A customer of the default segmentation and the segment they should reach."""

    # /docs shows the served version's own example (app/controllers/docs.py); this one is the schema's fallback.
    model_config = example_config(
        {"customer": {"annual_income": 60, "spending_score": 5}, "target_segment": 1}, extra="forbid"
    )

    customer: CustomerIn = Field(description="The customer as POST /api/v1/predict takes them.")
    target_segment: TargetSegment
    immutable: Immutable = []
    weights: Weights = {}


class FeaturesCounterfactualIn(BaseModel):
    """A customer of a segmentation (by its features, or an RFM customer's transactions) and the target segment."""

    # /docs shows one example per segmentation, from its served version (app/controllers/docs.py); this fallback
    # is the default segmentation's.
    model_config = example_config(
        {"customer": {"features": {"annual_income": 60, "spending_score": 5}}, "target_segment": 1}, extra="forbid"
    )

    customer: FeaturesCustomerIn = Field(
        description="The customer as the segmentation's predict route takes them: `features`, or RFM `transactions`."
    )
    target_segment: TargetSegment
    immutable: Immutable = []
    weights: Weights = {}


class SegmentName(BaseModel):
    """A segment by id and name."""

    segment_id: int = Field(description="Stable segment id: the same segment in every model version.")
    segment_name: str = Field(description="The segment's name (the team's own, when it renamed it).")


class Counterfactual(BaseModel):
    """The smallest change that makes the model put the customer in the target segment."""

    model_config = example_config(
        {
            "customer": {"annual_income": 60, "spending_score": 5},
            "current_segment": {"segment_id": 3, "segment_name": "High Earner Saver"},
            "target_segment": {"segment_id": 1, "segment_name": "VIP / Whale"},
            "reachable": True,
            "reason": None,
            "target_point": {"annual_income": 88.8, "spending_score": 49.5},
            "changes": {"annual_income": 28.8, "spending_score": 44.5},
            "distance": 2.09,
            "model_version": "20261126.165110-95dfbc16",
        }
    )

    customer: dict[str, float] = Field(description="The customer's values, feature by feature.")
    current_segment: SegmentName = Field(description="The segment the customer is in now.")
    target_segment: SegmentName = Field(description="The segment asked for.")
    reachable: bool = Field(description="False when no values within the valid ranges (and the fixed ones) reach it.")
    reason: str | None = Field(description="Why the target cannot be reached, in words; null when it can.")
    target_point: dict[str, float] | None = Field(
        description="The nearest values (in the features' own units) that the model puts in the target segment, "
        "just inside its boundary; null when unreachable."
    )
    changes: dict[str, float] | None = Field(
        description="target_point minus the customer's values, feature by feature; null when unreachable."
    )
    distance: float | None = Field(
        description="How far the move is, in (weighted) standard deviations of the training data; 0 when the "
        "customer is already there, null when unreachable."
    )
    model_version: str = Field(description="The model version that answered: GET /api/v1/models/{version} shows it.")
