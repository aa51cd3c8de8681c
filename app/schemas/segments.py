"""Responses describing segments: statistics, meanings and one segment in detail."""

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import example_config
from app.schemas.prediction import PREDICTION_EXAMPLE


class FeatureSummary(BaseModel):
    """Mean, spread and range of one feature within a segment."""

    mean: float = Field(description="Mean over the segment's training customers.")
    std: float = Field(description="Standard deviation over them.")
    min: float = Field(description="Smallest value among them.")
    max: float = Field(description="Largest value among them.")


class AgeProfile(BaseModel):
    """Ages of a segment's training customers."""

    mean: float = Field(description="Mean age.")
    median: float = Field(description="Median age.")
    q1: float = Field(description="25th percentile.")
    q3: float = Field(description="75th percentile.")


class SegmentProfile(BaseModel):
    """Who a segment's training customers are; each part only when the training data had that column."""

    model_config = ConfigDict(extra="forbid")

    age: AgeProfile | None = Field(None, description="Present when the training data has an Age column.")
    gender: dict[str, float] | None = Field(
        None,
        description="Share of each gender value among the segment's customers (shares sum to 1); present when the "
        "training data has a Gender column.",
        examples=[{"Female": 0.77, "Male": 0.23}],
    )


class SegmentStats(BaseModel):
    """Statistics of one segment in the training data."""

    segment_id: int = Field(description="Stable segment id: the same segment in every model version.")
    segment_name: str = Field(description="The segment's name (the team's own, when it renamed it).")
    size: int = Field(ge=0, description="Training customers in this segment.")
    share: float = Field(ge=0, le=1, description="Fraction of training customers in this segment.")
    centroid: dict[str, float] = Field(description="Centroid in original units, by feature.")
    features: dict[str, FeatureSummary] = Field(description="Per-feature statistics, by feature.")
    profile: SegmentProfile | None = Field(
        None, description="Age and gender of the segment's customers; absent when the training data had neither."
    )
    standardized_centroid: dict[str, float] | None = Field(
        None,
        description="What drives this segment: its centroid per feature in standard deviations from the training "
        "mean (log scale for log1p features); the further from 0, the more that feature sets the segment apart. "
        "Absent for a version trained before it was recorded.",
        examples=[{"annual_income": 1.04, "spending_score": 1.27}],
    )


_VIP_STATS = {
    "segment_id": 1,
    "segment_name": "VIP / Whale",
    "size": 38,
    "share": 0.19,
    "centroid": {"annual_income": 87.6, "spending_score": 82.4},
    "features": {
        "annual_income": {"mean": 87.6, "std": 14.1, "min": 69.0, "max": 114.0},
        "spending_score": {"mean": 82.4, "std": 8.2, "min": 63.0, "max": 97.0},
    },
    "profile": {
        "age": {"mean": 32.7, "median": 32.0, "q1": 30.0, "q3": 36.0},
        "gender": {"Female": 0.54, "Male": 0.46},
    },
    "standardized_centroid": {"annual_income": 1.04, "spending_score": 1.27},
}


_VIP_INFO = {
    "segment_id": 1,
    "segment_name": "VIP / Whale",
    "description": PREDICTION_EXAMPLE["description"],
    "marketing_strategy": PREDICTION_EXAMPLE["marketing_strategy"],
    "characteristics": [
        "High income (centroid Annual Income (k$): 87.6)",
        "High spending (centroid Spending Score (1-100): 82.4)",
    ],
    "levels": {"annual_income": "high", "spending_score": "high"},
}


_VERSION = PREDICTION_EXAMPLE["model_version"]


class ClustersResponse(BaseModel):
    """Statistics of every segment."""

    model_config = example_config({"model_version": _VERSION, "n_samples": 200, "segments": [_VIP_STATS]})

    model_version: str = Field(description="The model version that answered: GET /api/v1/models/{version} shows it.")
    n_samples: int = Field(description="Customers the version was trained on.")
    segments: list[SegmentStats] = Field(description="Every segment, by segment_id.")


class SegmentInfo(BaseModel):
    """What a segment means and what to do about it."""

    segment_id: int = Field(description="Stable segment id: the same segment in every model version.")
    segment_name: str = Field(description="The segment's name (the team's own, when it renamed it).")
    description: str = Field(description="Who the segment's customers are.")
    marketing_strategy: list[str] = Field(description="Concrete marketing actions for this segment.")
    characteristics: list[str] = Field(description="What sets the segment apart, one short phrase each.")
    levels: dict[str, str] = Field(description="low, moderate or high for each feature, relative to training data.")


class ClustersInfoResponse(BaseModel):
    """Description and strategy of every segment."""

    model_config = example_config({"model_version": _VERSION, "segments": [_VIP_INFO]})

    model_version: str = Field(description="The model version that answered: GET /api/v1/models/{version} shows it.")
    segments: list[SegmentInfo] = Field(description="Every segment, by segment_id.")


class SegmentDetail(SegmentStats, SegmentInfo):
    """One segment: statistics and meaning together."""

    model_config = example_config({**_VIP_STATS, **_VIP_INFO, "model_version": _VERSION})

    model_version: str = Field(description="The model version that answered: GET /api/v1/models/{version} shows it.")
