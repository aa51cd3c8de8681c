"""What drives the segments: permutation importance of each feature, and each centroid's standardized position."""

from typing import TYPE_CHECKING, Any

import numpy as np

from app.models.clustering import sample_rows
from app.models.rules import segment_rules

if TYPE_CHECKING:
    from app.models.model import SegmentationModel

# Customers permuted: enough for a stable share to two decimals, few enough to add well under a second to training.
IMPORTANCE_SAMPLE_SIZE = 20_000
IMPORTANCE_REPEATS = 5


def permutation_importance(model: "SegmentationModel", X: np.ndarray, *, seed: int) -> dict[str, Any]:
    """For each feature, the share of customers that change segment when its column is shuffled (mean and std)."""
    sample = sample_rows(np.asarray(X, dtype=np.float64), IMPORTANCE_SAMPLE_SIZE, seed)
    assigned = model.labels(sample)
    rng = np.random.default_rng(seed)
    features = []
    for index, spec in enumerate(model.feature_specs):
        drops = []
        for _ in range(IMPORTANCE_REPEATS):
            shuffled = sample.copy()
            shuffled[:, index] = rng.permutation(shuffled[:, index])
            # The agreement with the model's own assignment starts at 1: the drop is the share that moved.
            drops.append(float((model.labels(shuffled) != assigned).mean()))
        features.append(
            {
                "feature": spec.name,
                "label": spec.label,
                "importance": float(np.mean(drops)),
                "std": float(np.std(drops)),
            }
        )
    features.sort(key=lambda item: -item["importance"])
    return {
        "method": "permutation",
        "measure": "share of customers whose segment changes when the feature's values are shuffled",
        "repeats": IMPORTANCE_REPEATS,
        "sample_size": len(sample),
        "features": features,
    }


def standardized_centroids(model: "SegmentationModel") -> dict[str, dict[str, float]]:
    """Each segment's centroid per feature in standard deviations from the training mean (where the model sees it)."""
    return {
        str(segment.segment_id): {
            name: float(value)
            for name, value in zip(model.features, model.cluster_centers[segment.kmeans_label], strict=True)
        }
        for segment in model.segments
    }


def explainability(model: "SegmentationModel", X: np.ndarray, *, seed: int) -> dict[str, Any]:
    """The rules and importances a version records at training (signed with it; never recomputed when serving)."""
    ids = np.array([segment.segment_id for segment in model.segments])[model.labels(X)]
    return {
        "segment_rules": segment_rules(X, ids, model.feature_specs, seed=seed),
        "importance": {**permutation_importance(model, X, seed=seed), "segments": standardized_centroids(model)},
    }
