"""Responses of the model-version API: versions, activations, training jobs and comparisons."""

from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.model import KSelectionEntry, Metrics


class VersionSegment(BaseModel):
    """One segment of a version."""

    segment_id: int
    name: str
    size: int = Field(ge=0)
    share: float = Field(ge=0, le=1)
    centroid: dict[str, float] = Field(description="Centroid in original units, by feature.")
    levels: dict[str, str]
    description: str


class VersionSummary(BaseModel):
    """One model version as listed."""

    version: str
    created: str | None = Field(description="When it was trained (UTC, ISO 8601).")
    n_samples: int | None
    k: int | None = Field(description="Number of segments.")
    features: list[str]
    metrics: Metrics | None
    k_selection: list[KSelectionEntry] = Field(default_factory=list, description="The k sweep: inertia, silhouette.")
    active: bool
    usable: bool = Field(description="False when its files fail their checksums or signature; `reason` says why.")
    reason: str | None = None
    auto_trained: bool = False
    data_file: str | None = None


class VersionDetail(VersionSummary):
    """One model version with its segments."""

    segments: list[VersionSegment]


class VersionList(BaseModel):
    """Every version, newest first."""

    active: str | None
    versions: list[VersionSummary]


class Activation(BaseModel):
    """One entry of the activation history."""

    at: str = Field(description="When (UTC, ISO 8601).")
    from_version: str | None = Field(alias="from", description="The version active before, if any.")
    to: str = Field(description="The version activated.")
    reason: str = Field(description="Why, as given.")
    key_id: str | None = Field(description="Short hash of the admin key used; never the key itself.")

    model_config = {"populate_by_name": True}


class ActivationHistory(BaseModel):
    """Every activation, oldest first."""

    entries: list[Activation]


class JobProgress(BaseModel):
    """How far a training job got."""

    stage: str | None = Field(None, description="reading, cleaning, k_sweep, fitting, saving.")
    rows_read: int | None = None
    step: int | None = Field(None, description="k sweep step, 1-based.")
    of: int | None = Field(None, description="k sweep steps in all.")
    k: int | None = None


class JobStatus(BaseModel):
    """A training job's state."""

    job_id: str
    state: Literal["queued", "running", "succeeded", "failed"]
    created: str
    progress: JobProgress
    version: str | None = Field(None, description="The new version, on success.")
    activated: bool | None = None
    error: str | None = Field(None, description="On failure: the same one-line reason the CLI gives.")


class JobAccepted(BaseModel):
    """A training job was queued."""

    job_id: str


class SegmentRef(BaseModel):
    """A segment's id and name."""

    segment_id: int
    name: str


class CentroidShift(BaseModel):
    """How far a segment present in both versions moved."""

    segment_id: int
    name: str
    shift: dict[str, float] = Field(description="New minus old centroid, by feature, in original units.")
    distance: float = Field(ge=0, description="Euclidean length of the shift, in original units.")


class SegmentChange(BaseModel):
    """A segment's size and share in each version (null size: absent from that version)."""

    segment_id: int
    name: str
    old_size: int | None
    new_size: int | None
    old_share: float
    new_share: float
    share_change: float


class MetricDelta(BaseModel):
    """One metric in each version."""

    old: float
    new: float
    delta: float


class Comparison(BaseModel):
    """What switching from one version to another would change."""

    version: str = Field(description="The candidate.")
    with_version: str = Field(description="The baseline it is compared with.")
    n_customers: int = Field(description="Customers segmented by both (the candidate's stored training sample).")
    customers: str
    old_segments: list[SegmentRef] = Field(description="Rows of the migration matrix.")
    new_segments: list[SegmentRef] = Field(description="Columns of the migration matrix.")
    migration_matrix: list[list[int]] = Field(
        description="migration_matrix[i][j]: customers that old segment i sends to new segment j."
    )
    centroid_shifts: list[CentroidShift]
    segment_changes: list[SegmentChange]
    metric_deltas: dict[str, MetricDelta]
