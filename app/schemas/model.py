"""Responses describing segments, the model and service health."""

from typing import Literal

from pydantic import BaseModel, Field


class FeatureSummary(BaseModel):
    """Mean, spread and range of one feature within a segment."""

    mean: float
    std: float
    min: float
    max: float


class SegmentStats(BaseModel):
    """Statistics of one segment in the training data."""

    segment_id: int
    segment_name: str
    size: int = Field(ge=0, description="Training customers in this segment.")
    share: float = Field(ge=0, le=1, description="Fraction of training customers in this segment.")
    centroid: dict[str, float] = Field(description="Centroid in original units, by feature.")
    features: dict[str, FeatureSummary] = Field(description="Per-feature statistics, by feature.")


class ClustersResponse(BaseModel):
    """Statistics of every segment."""

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

    model_version: str
    segments: list[SegmentInfo]


class SegmentDetail(SegmentStats, SegmentInfo):
    """One segment: statistics and meaning together."""

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


class HealthResponse(BaseModel):
    """Whether the service can answer predictions."""

    status: Literal["ok", "unavailable"]
    model_loaded: bool
    model_version: str | None
    uptime_seconds: float
    app_version: str
    reason: str | None = Field(None, description="Why the service is unavailable, when it is.")
