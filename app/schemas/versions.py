"""Responses of the model-version API: versions, activations and comparisons."""

from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import example_config
from app.schemas.model_info import K_SELECTION_EXAMPLE, METRICS_EXAMPLE, KSelectionEntry, Metrics

_V1, _V2 = "20261128.014530.123456-95dfbcab12", "20261128.020112.654321-4be0a1c3d4"
_SUMMARY = {
    "version": _V2,
    "created": "2026-11-28T02:01:12+00:00",
    "n_samples": 200,
    "k": 5,
    "features": ["annual_income", "spending_score"],
    "metrics": METRICS_EXAMPLE,
    "k_selection": K_SELECTION_EXAMPLE,
    "active": True,
    "usable": True,
    "reason": None,
    "auto_trained": False,
    "data_file": "mall_customers.csv",
}


_SEGMENT = {
    "segment_id": 1,
    "name": "VIP / Whale",
    "size": 38,
    "share": 0.19,
    "centroid": {"annual_income": 87.6, "spending_score": 82.4},
    "levels": {"annual_income": "high", "spending_score": "high"},
    "description": "High income and high spending: the most valuable customers.",
}


_ACTIVATION = {
    "at": "2026-11-28T02:03:00.000+00:00",
    "from": _V1,
    "to": _V2,
    "reason": "better silhouette",
    "key_id": "key-1a2b3c4d5e",
}


class VersionSegment(BaseModel):
    """One segment of a version."""

    segment_id: int = Field(description="Stable segment id: the same segment in every model version.")
    name: str = Field(description="The segment's name in this version (the team's own, when it renamed it).")
    size: int = Field(ge=0, description="Training customers in this segment.")
    share: float = Field(ge=0, le=1, description="Fraction of training customers in this segment.")
    centroid: dict[str, float] = Field(description="Centroid in original units, by feature.")
    levels: dict[str, str] = Field(description="Whether the segment is high, moderate or low on each feature.")
    description: str = Field(description="Who the segment's customers are.")


class VersionSummary(BaseModel):
    """One model version as listed."""

    version: str = Field(description="The version's name: training time and the data's hash.")
    created: str | None = Field(description="When it was trained (UTC, ISO 8601).")
    n_samples: int | None = Field(description="Training rows kept; null when its info cannot be read.")
    k: int | None = Field(description="Number of segments.")
    features: list[str] = Field(description="The features it takes, in its order.")
    metrics: Metrics | None = Field(description="Clustering quality on its training data; null when unreadable.")
    k_selection: list[KSelectionEntry] = Field(default_factory=list, description="The k sweep: inertia, silhouette.")
    active: bool = Field(description="Whether it is the version served.")
    usable: bool = Field(description="False when its files fail their checksums or signature; `reason` says why.")
    reason: str | None = Field(None, description="Why it is not usable; null when it is.")
    auto_trained: bool = Field(False, description="True when the service trained it by itself on the bundled data.")
    data_file: str | None = Field(None, description="The training file's name.")
    label: str | None = Field(None, description="A label people gave the version (kept beside it, not signed).")


class LabelIn(BaseModel):
    """A version's new label; an empty one removes it."""

    model_config = example_config({"label": "spring export, cleaned"})

    label: str = Field(max_length=200, description="At most 80 characters once spaces are folded; '' removes it.")


class VersionDetail(VersionSummary):
    """One model version with its segments."""

    model_config = example_config({**_SUMMARY, "segments": [_SEGMENT]})

    segments: list[VersionSegment] = Field(description="Every segment of the version.")


class VersionList(BaseModel):
    """Every version, newest first."""

    model_config = example_config({"active": _V2, "versions": [_SUMMARY]})

    active: str | None = Field(description="The version served; null when none is active.")
    versions: list[VersionSummary] = Field(description="Every stored version, newest first.")


class Activation(BaseModel):
    """One entry of the activation history."""

    at: str = Field(description="When (UTC, ISO 8601).")
    from_version: str | None = Field(alias="from", description="The version active before, if any.")
    to: str = Field(description="The version activated.")
    reason: str = Field(description="Why, as given.")
    key_id: str | None = Field(
        description="Who: a user's email, `email:key-name` for a personal key, or the short hash of an ADMIN_API_KEYS "
        "key (never the key itself)."
    )

    model_config = example_config(_ACTIVATION, populate_by_name=True)


class ActivationHistory(BaseModel):
    """Every activation, oldest first."""

    model_config = example_config({"entries": [_ACTIVATION]})

    entries: list[Activation] = Field(description="Every activation, oldest first.")


class SegmentRef(BaseModel):
    """A segment's id and name."""

    segment_id: int = Field(description="Stable segment id: the same segment in every model version.")
    name: str = Field(description="The segment's name.")


class CentroidShift(BaseModel):
    """How far a segment present in both versions moved."""

    segment_id: int = Field(description="Stable segment id: the same segment in every model version.")
    name: str = Field(description="The segment's name.")
    shift: dict[str, float] = Field(description="New minus old centroid, by feature, in original units.")
    distance: float = Field(ge=0, description="Euclidean length of the shift, in original units.")


class SegmentChange(BaseModel):
    """A segment's size and share in each version (null size: absent from that version)."""

    segment_id: int = Field(description="Stable segment id: the same segment in every model version.")
    name: str = Field(description="The segment's name.")
    old_size: int | None = Field(description="Its training customers in the baseline; null: not a segment there.")
    new_size: int | None = Field(description="Its training customers in the candidate; null: not a segment there.")
    old_share: float = Field(description="Its share of the baseline's training customers.")
    new_share: float = Field(description="Its share of the candidate's training customers.")
    share_change: float = Field(description="new_share minus old_share.")


class MetricDelta(BaseModel):
    """One metric in each version, and whether the candidate is better on it."""

    old: float = Field(description="The baseline's value.")
    new: float = Field(description="The candidate's value.")
    delta: float = Field(description="new minus old.")
    higher_is_better: bool | None = Field(default=None, description="Which way the metric improves.")
    comparable: bool = Field(
        default=True,
        description="False when the metric cannot rank the two versions (different training data, or inertia "
        "across different k); `not_comparable_because` says why.",
    )
    verdict: Literal["better", "worse", "unchanged"] | None = Field(
        default=None, description="The candidate against the baseline; null when not comparable."
    )
    not_comparable_because: str | None = Field(None, description="Why the metric cannot rank them; null when it can.")


class Comparison(BaseModel):
    """What switching from one version to another would change."""

    model_config = example_config(
        {
            "version": _V2,
            "with_version": _V1,
            "n_customers": 200,
            "customers": "the candidate's stored sample of its training customers",
            "old_segments": [
                {"segment_id": 0, "name": "Average Customer"},
                {"segment_id": 1, "name": "VIP / Whale"},
            ],
            "new_segments": [
                {"segment_id": 0, "name": "Average Customer"},
                {"segment_id": 1, "name": "VIP / Whale"},
            ],
            "migration_matrix": [[80, 1], [0, 38]],
            "centroid_shifts": [
                {
                    "segment_id": 1,
                    "name": "VIP / Whale",
                    "shift": {"annual_income": 0.4, "spending_score": -0.2},
                    "distance": 0.45,
                }
            ],
            "segment_changes": [
                {
                    "segment_id": 1,
                    "name": "VIP / Whale",
                    "old_size": 38,
                    "new_size": 39,
                    "old_share": 0.19,
                    "new_share": 0.195,
                    "share_change": 0.005,
                }
            ],
            "metric_deltas": {
                "silhouette": {
                    "old": 0.6026,
                    "new": 0.6031,
                    "delta": 0.0005,
                    "higher_is_better": True,
                    "comparable": True,
                    "verdict": "better",
                    "not_comparable_because": None,
                }
            },
        }
    )

    version: str = Field(description="The candidate.")
    with_version: str = Field(description="The baseline it is compared with.")
    n_customers: int = Field(description="Customers segmented by both (the candidate's stored training sample).")
    customers: str = Field(description="Which customers were segmented by both, in words.")
    old_segments: list[SegmentRef] = Field(description="Rows of the migration matrix.")
    new_segments: list[SegmentRef] = Field(description="Columns of the migration matrix.")
    migration_matrix: list[list[int]] = Field(
        description="migration_matrix[i][j]: customers that old segment i sends to new segment j."
    )
    centroid_shifts: list[CentroidShift] = Field(description="How each segment's centre moved.")
    segment_changes: list[SegmentChange] = Field(description="How each segment's size and share changed.")
    metric_deltas: dict[str, MetricDelta] = Field(description="Each clustering metric in both versions, by name.")
