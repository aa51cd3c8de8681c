"""The fitted segmentation model and its fast, exact prediction path."""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler


@dataclass(frozen=True)
class FeatureStats:
    """Summary of one feature within one segment of the training data."""

    mean: float
    std: float
    min: float
    max: float

    @classmethod
    def of(cls, values: np.ndarray) -> "FeatureStats":
        """Summarise a column of values."""
        return cls(float(values.mean()), float(values.std()), float(values.min()), float(values.max()))


@dataclass(frozen=True)
class Segment:
    """One customer segment: stable identity, advice and training-data statistics."""

    segment_id: int
    name: str
    kmeans_label: int
    levels: dict[str, str]
    description: str
    strategy: list[str]
    characteristics: list[str]
    centroid: dict[str, float]
    size: int
    share: float
    stats: dict[str, FeatureStats]
    # 95th percentile of training customers' distance to this centroid (standardized units).
    distance_p95: float

    def to_dict(self) -> dict[str, Any]:
        """Serialise for model_info.json."""
        data = self.__dict__.copy()
        data["stats"] = {name: stats.__dict__.copy() for name, stats in self.stats.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Segment":
        """Rebuild from model_info.json."""
        data = dict(data)
        data["stats"] = {name: FeatureStats(**stats) for name, stats in data["stats"].items()}
        return cls(**data)


@dataclass
class SegmentationModel:
    """A StandardScaler and KMeans pair with named segments, ordered by segment id."""

    scaler: StandardScaler
    kmeans: KMeans
    features: list[str]
    segments: list[Segment]
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n_clusters, n_features = self.kmeans.cluster_centers_.shape
        labels = sorted(segment.kmeans_label for segment in self.segments)
        if labels != list(range(n_clusters)):
            raise ValueError("segments must map every KMeans label exactly once")
        if n_features != len(self.features) or self.scaler.mean_.shape != (n_features,):
            raise ValueError("scaler, KMeans and feature list disagree on the number of features")
        self.segments = sorted(self.segments, key=lambda segment: segment.segment_id)
        order = [segment.kmeans_label for segment in self.segments]
        # Fast-path copies: centroids in segment order, so an argmin index is a segment position.
        self._mean = np.asarray(self.scaler.mean_, dtype=np.float64)
        self._scale = np.asarray(self.scaler.scale_, dtype=np.float64)
        self._centroids = np.ascontiguousarray(self.kmeans.cluster_centers_[order], dtype=np.float64)
        self._mean_list = self._mean.tolist()
        self._scale_list = self._scale.tolist()
        self._centroid_rows = self._centroids.tolist()
        self._by_id = {segment.segment_id: segment for segment in self.segments}
        # Segment ids as JSON object keys, built once rather than per prediction.
        self.segment_keys = [str(segment.segment_id) for segment in self.segments]

    @property
    def n_clusters(self) -> int:
        """Number of segments."""
        return len(self.segments)

    @property
    def version(self) -> str:
        """The model version recorded at training time."""
        return str(self.info.get("version", "unversioned"))

    def segment(self, segment_id: int) -> Segment | None:
        """Look up a segment by its stable id."""
        return self._by_id.get(segment_id)

    def standardize(self, X: np.ndarray) -> np.ndarray:
        """Apply the fitted scaler exactly as StandardScaler.transform does."""
        return (np.asarray(X, dtype=np.float64) - self._mean) / self._scale

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return each row's segment position and its distances to every centroid."""
        Z = self.standardize(X)
        if Z.ndim != 2 or Z.shape[1] != len(self.features):
            raise ValueError(f"expected an array of shape (n, {len(self.features)}), got {Z.shape}")
        squared = np.empty((Z.shape[0], self.n_clusters), dtype=np.float64)
        # One column per centroid keeps memory at n x k instead of n x k x features.
        for j, centroid in enumerate(self._centroids):
            column = squared[:, j]
            np.subtract(Z[:, 0], centroid[0], out=column)
            np.multiply(column, column, out=column)
            for f in range(1, Z.shape[1]):
                diff = Z[:, f] - centroid[f]
                column += diff * diff
        positions = np.argmin(squared, axis=1)
        return positions, np.sqrt(squared, out=squared)

    def decision_grid(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Segment positions on a 2-D grid of the first two features: shape (len(ys), len(xs))."""
        if len(self.features) != 2:
            raise ValueError("a decision grid needs a model with exactly two features")
        grid_x, grid_y = np.meshgrid(np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64))
        positions, _ = self.predict(np.column_stack([grid_x.ravel(), grid_y.ravel()]))
        return positions.reshape(len(ys), len(xs))

    def predict_one(self, values: Sequence[float]) -> tuple[int, list[float]]:
        """Predict one customer in plain Python: same arithmetic as `predict`, no array overhead."""
        z = [
            (value - mean) / scale for value, mean, scale in zip(values, self._mean_list, self._scale_list, strict=True)
        ]
        squared = []
        for centroid in self._centroid_rows:
            diff = z[0] - centroid[0]
            total = diff * diff
            for f in range(1, len(z)):
                diff = z[f] - centroid[f]
                total += diff * diff
            squared.append(total)
        best = min(range(len(squared)), key=squared.__getitem__)
        return best, [math.sqrt(value) for value in squared]
