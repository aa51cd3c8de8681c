"""Responses describing segments, the model and service health."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import example_config
from app.schemas.prediction import PREDICTION_EXAMPLE


class FeatureSummary(BaseModel):
    """Mean, spread and range of one feature within a segment."""

    mean: float
    std: float
    min: float
    max: float


class AgeProfile(BaseModel):
    """Ages of a segment's training customers."""

    mean: float
    median: float
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

    segment_id: int
    segment_name: str
    size: int = Field(ge=0, description="Training customers in this segment.")
    share: float = Field(ge=0, le=1, description="Fraction of training customers in this segment.")
    centroid: dict[str, float] = Field(description="Centroid in original units, by feature.")
    features: dict[str, FeatureSummary] = Field(description="Per-feature statistics, by feature.")
    profile: SegmentProfile | None = Field(
        None, description="Age and gender of the segment's customers; absent when the training data had neither."
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
# The default model's quality, shown by every example that describes a version.
METRICS_EXAMPLE = {
    "inertia": 50.48,
    "silhouette": 0.6026,
    "davies_bouldin": 0.4921,
    "calinski_harabasz": 337.57,
    "silhouette_sample_size": 200,
}
K_SELECTION_EXAMPLE = [{"k": 4, "inertia": 95.44, "silhouette": 0.535}, {"k": 5, "inertia": 50.48, "silhouette": 0.603}]


class ClustersResponse(BaseModel):
    """Statistics of every segment."""

    model_config = example_config({"model_version": _VERSION, "n_samples": 200, "segments": [_VIP_STATS]})

    model_version: str
    n_samples: int
    segments: list[SegmentStats]


class SegmentInfo(BaseModel):
    """What a segment means and what to do about it."""

    segment_id: int
    segment_name: str
    description: str
    marketing_strategy: list[str]
    characteristics: list[str]
    levels: dict[str, str] = Field(description="low, moderate or high for each feature, relative to training data.")


class ClustersInfoResponse(BaseModel):
    """Description and strategy of every segment."""

    model_config = example_config({"model_version": _VERSION, "segments": [_VIP_INFO]})

    model_version: str
    segments: list[SegmentInfo]


class SegmentDetail(SegmentStats, SegmentInfo):
    """One segment: statistics and meaning together."""

    model_config = example_config({**_VIP_STATS, **_VIP_INFO, "model_version": _VERSION})

    model_version: str


class KSelectionEntry(BaseModel):
    """Evidence for one candidate number of segments."""

    k: int
    inertia: float
    silhouette: float


class Metrics(BaseModel):
    """Clustering quality on the training data."""

    inertia: float = Field(description="Sum of squared distances to the nearest centroid (standardized units).")
    silhouette: float = Field(description="-1 to 1; higher means tighter, better separated segments.")
    davies_bouldin: float = Field(description="0 and up; lower means better separated segments.")
    calinski_harabasz: float = Field(description="0 and up; higher means denser, better separated segments.")
    silhouette_sample_size: int = Field(description="Rows the silhouette was computed on.")


class ModelInfo(BaseModel):
    """Metadata of the loaded model."""

    model_config = example_config(
        {
            "algorithm": "KMeans",
            "scaling": "StandardScaler",
            "n_clusters": 5,
            "features": ["annual_income", "spending_score"],
            "feature_labels": {
                "annual_income": "Annual Income (k$)",
                "spending_score": "Spending Score (1-100)",
            },
            "version": _VERSION,
            "trained_at": "2026-11-26T16:51:10+00:00",
            "n_samples": 200,
            "n_input_rows": 200,
            "dropped_rows": {},
            "random_state": 42,
            "metrics": METRICS_EXAMPLE,
            "k_selection": K_SELECTION_EXAMPLE,
            "k_selection_sample_size": 200,
            "k_requested": "5",
            "data_file": "mall_customers.csv",
            "data_sha256": "95dfbc16" + "0" * 56,
            "sklearn_version": "1.9.1",
        }
    )

    algorithm: str = Field(examples=["KMeans"])
    scaling: str = Field(examples=["StandardScaler"])
    n_clusters: int
    features: list[str]
    feature_labels: dict[str, str]
    version: str
    trained_at: str
    n_samples: int
    n_input_rows: int
    dropped_rows: dict[str, int]
    random_state: int
    metrics: Metrics
    k_selection: list[KSelectionEntry]
    k_selection_sample_size: int
    k_requested: str
    data_file: str
    data_sha256: str
    sklearn_version: str
    auto_trained: bool = Field(
        False, description="True when the service trained this model by itself on the bundled synthetic data."
    )
    signed: bool = Field(
        description="True when the artifacts carry an HMAC signature checked with MODEL_SIGNING_KEY at load; "
        "false means sha256 checksums only (unsigned)."
    )
    notes: list[str] = Field(default_factory=list, description="Plain-language warnings about this model.")


class HealthResponse(BaseModel):
    """Whether the service can answer predictions."""

    model_config = example_config(
        {
            "status": "ok",
            "model_loaded": True,
            "model_version": _VERSION,
            "uptime_seconds": 12.5,
            "app_version": "1.0.0",
            "reason": None,
        }
    )

    status: Literal["ok", "unavailable"]
    model_loaded: bool
    model_version: str | None
    uptime_seconds: float
    app_version: str
    reason: str | None = Field(None, description="Why the service is unavailable, when it is.")
    auto_trained: bool | None = Field(
        None, description="True when the active model was trained automatically on the bundled synthetic data."
    )
    artifacts_signed: bool | None = Field(None, description="Whether the active model's artifacts are signed.")


class LivenessResponse(BaseModel):
    """The process is up."""

    status: Literal["alive"]


class ReadinessResponse(BaseModel):
    """Whether a verified model is loaded, so traffic can be sent."""

    model_config = example_config({"status": "ready", "model_version": _VERSION, "reason": None})

    status: Literal["ready", "not_ready"]
    model_version: str | None
    reason: str | None
