"""The 2-D picture of a model with three or more features: a PCA plane fitted on the standardized training data.

Fitted once at training (numpy's SVD) and stored in the version's model_info.json as plain lists, so it is covered
by the version's manifest and signature, and serving never needs scikit-learn to place a customer on the plane.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from app.utils.geometry import Point, clip_half_plane

if TYPE_CHECKING:  # the model imports nothing from here; the type is only for signatures
    from app.models.model import SegmentationModel

# Two features are drawn as they are; a plane is only needed from three on.
MIN_FEATURES = 3
METHOD = "pca"


def fit_projection(Z: np.ndarray, features: list[str]) -> dict[str, Any] | None:
    """The first two principal axes of standardized training rows Z, as JSON-ready lists; None below three features."""
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim != 2 or Z.shape[1] < MIN_FEATURES or len(Z) < 2:
        return None
    center = Z.mean(axis=0)
    _, singular, vt = np.linalg.svd(Z - center, full_matrices=False)
    components = vt[:2].copy()
    # SVD's signs are arbitrary: the largest loading of each axis is made positive, so retrains draw the same way.
    largest = np.abs(components).argmax(axis=1)
    components *= np.where(components[np.arange(2), largest] < 0, -1.0, 1.0)[:, None]
    variance = singular**2
    total = float(variance.sum()) or 1.0
    return {
        "method": METHOD,
        "space": "standardized",
        "features": list(features),
        "center": center.tolist(),
        "components": components.tolist(),
        "explained_variance_ratio": [float(v / total) for v in variance[:2]],
    }


def fitted_projection(Z: np.ndarray, features: list[str]) -> dict[str, Any]:
    """The info entry for a model's projection: {"projection": ...} from three features on, else nothing."""
    projection = fit_projection(Z, features)
    return {"projection": projection} if projection is not None else {}


@dataclass(frozen=True)
class Projection:
    """A fitted PCA plane: rows of standardized values minus `center`, times `components` transposed."""

    features: list[str]
    center: np.ndarray  # (n_features,)
    components: np.ndarray  # (2, n_features), unit rows
    explained: tuple[float, float]  # share of the training spread along each axis

    @classmethod
    def of(cls, model: "SegmentationModel") -> "Projection | None":
        """The projection a version was trained with; None when it has none (two features, or an older version)."""
        data = model.info.get("projection")
        if not isinstance(data, dict) or data.get("method") != METHOD or data.get("features") != model.features:
            return None
        center = np.asarray(data["center"], dtype=np.float64)
        components = np.asarray(data["components"], dtype=np.float64)
        n = len(model.features)
        if center.shape != (n,) or components.shape != (2, n) or not np.isfinite(components).all():
            return None
        ratio = [float(v) for v in data.get("explained_variance_ratio", [0.0, 0.0])]
        return cls(list(model.features), center, components, (ratio[0], ratio[1]))

    def project_standardized(self, Z: np.ndarray) -> np.ndarray:
        """Standardized rows (n, n_features) to their place on the plane (n, 2)."""
        return (np.asarray(Z, dtype=np.float64) - self.center) @ self.components.T


def _projection(model: "SegmentationModel") -> Projection:
    projection = Projection.of(model)
    if projection is None:
        raise ValueError(f"model version {model.version} has no projection (it needs {MIN_FEATURES}+ features)")
    return projection


def standardize(model: "SegmentationModel", X: np.ndarray) -> np.ndarray:
    """Rows in the features' own units to the standardized space the model clusters in."""
    X = np.asarray(X, dtype=np.float64).reshape(-1, len(model.features))
    return (model.to_model_space(X) - model.mean) / model.scale


def place_customers(model: "SegmentationModel", X: np.ndarray) -> np.ndarray:
    """Where customers (rows in the features' own units) sit on the model's plane: (n, 2), as at training."""
    return _projection(model).project_standardized(standardize(model, X))


def segment_centroids(model: "SegmentationModel") -> np.ndarray:
    """Standardized centroids in segment order (model.segments), not KMeans label order."""
    return model.cluster_centers[[segment.kmeans_label for segment in model.segments]]


def placed_centroids(model: "SegmentationModel") -> np.ndarray:
    """Each segment's centroid on the plane, in segment order: (k, 2)."""
    return _projection(model).project_standardized(segment_centroids(model))


def plane_regions(
    model: "SegmentationModel", x_range: tuple[float, float], y_range: tuple[float, float]
) -> list[list[Point]]:
    """Each segment's region on the plane, for customers lying on it, as a polygon (segment order).

    A point p of the plane stands for z = center + Cᵀp; its squared distance to a centroid c is |p - a|² + r, where
    a is c's place on the plane and r its squared distance from the plane. That is linear in p between two
    segments, so each region is a convex polygon: the rectangle clipped by one straight line per rival.
    """
    projection = _projection(model)
    centroids = segment_centroids(model)
    placed = projection.project_standardized(centroids)
    off_plane = ((centroids - projection.center) ** 2).sum(axis=1) - (placed**2).sum(axis=1)
    (x0, x1), (y0, y1) = x_range, y_range
    regions = []
    for i, own in enumerate(placed):
        polygon: list[Point] = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        for j, other in enumerate(placed):
            if j != i and polygon:
                # |p - own|² + r_i <= |p - other|² + r_j  <=>  2 (other - own) . p <= |other|² - |own|² + r_j - r_i
                a = 2 * (other - own)
                b = float(other @ other - own @ own + off_plane[j] - off_plane[i])
                polygon = clip_half_plane(polygon, (float(a[0]), float(a[1])), b)
        regions.append(polygon)
    return regions


def _weight_text(weight: float, first: bool) -> str:
    magnitude = f"{abs(weight):.2f}"
    if first:
        return magnitude if weight >= 0 else f"−{magnitude}"
    return f"+ {magnitude}" if weight >= 0 else f"− {magnitude}"


def axis_texts(model: "SegmentationModel") -> list[str]:
    """What each axis of the plane is: "Axis 1 (58% of the spread): 0.71 × Recency + 0.62 × log Monetary − ..."."""
    projection = _projection(model)
    specs = {spec.name: spec for spec in model.feature_specs}
    texts = []
    for axis, (row, share) in enumerate(zip(projection.components, projection.explained, strict=True), start=1):
        order = sorted(range(len(row)), key=lambda f: -abs(row[f]))
        terms = []
        for f in order:
            if round(abs(float(row[f])), 2) == 0:
                continue  # a feature that does not move this axis
            spec = specs[projection.features[f]]
            label = f"log {spec.label}" if spec.transform == "log1p" else spec.label
            terms.append(f"{_weight_text(float(row[f]), not terms)} × {label}")
        texts.append(f"Axis {axis} ({share:.0%} of the spread): {' '.join(terms)}")
    return texts
