"""Segment identity across retrains: a new cluster keeps the id and name of the active model's segment it matches."""

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from app.models.features import Feature, to_model_space
from app.models.naming.archetypes import FIRST_DESCRIPTIVE_ID

if TYPE_CHECKING:
    from app.models.model import Segment

# A cluster keeps the identity of the reference segment it is paired with (an optimal one-to-one assignment) when
# their centroids lie within this distance, in training standard deviations of the new data, in the space the model
# clusters (log1p features as logs). Scale-free, so it means the same for k$, dollars, days or log order counts;
# retraining on the same population moves centroids by a few hundredths, a group that really moved by one or more.
MAX_IDENTITY_SHIFT = 0.5
_INCOMPATIBLE = 1e9


def match_reference(
    labels: Sequence[int],
    z: np.ndarray,
    reference: "Sequence[Segment]",
    specs: Sequence[Feature],
    mean: np.ndarray,
    std: np.ndarray,
) -> dict[int, "Segment"]:
    """The clusters `labels` (rows of the standardized centroids `z`) paired with the reference segments they match.

    The reference's centroids (its features' own units) are placed with the new model's transforms and scaler, so
    both sides are measured alike. Archetype ids are left out: the archetypes are matched by geometry.
    """
    features = [spec.name for spec in specs]
    candidates = [
        segment
        for segment in reference
        if segment.segment_id >= FIRST_DESCRIPTIVE_ID and set(segment.centroid) == set(features)
    ]
    if not labels or not candidates:
        return {}
    from scipy.optimize import linear_sum_assignment  # naming runs at training; serving never imports scipy

    old = np.array([[segment.centroid[f] for f in features] for segment in candidates], dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        old_z = (to_model_space(old, specs) - mean) / std
        cost = np.linalg.norm(z[list(labels)][:, None, :] - old_z[None, :, :], axis=2)
    # A reference centroid the new transform cannot place (a negative value under log1p) matches nothing.
    cost = np.where(np.isfinite(cost), cost, _INCOMPATIBLE)
    rows, cols = linear_sum_assignment(cost)
    return {labels[i]: candidates[j] for i, j in zip(rows, cols, strict=True) if cost[i, j] <= MAX_IDENTITY_SHIFT}
