"""The fitted segmentation model and its fast, exact prediction path."""

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # scikit-learn is only needed to train or unpickle, never to predict
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

# Rows per prediction chunk: large enough to amortise per-call overhead, small enough to stay near the cache.
PREDICT_CHUNK_ROWS = 131_072
MAX_PREDICT_THREADS = 4


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


Estimators = tuple["StandardScaler", "KMeans"]


# eq=False: a model is equal only to itself (its arrays have no meaningful ==), which also makes it
# hashable, so per-model results such as page geometry can be cached.
@dataclass(eq=False)
class SegmentationModel:
    """Fitted StandardScaler and KMeans parameters with named segments, ordered by segment id.

    Prediction needs only the parameters (plain arrays), so serving never imports scikit-learn. The
    estimator objects themselves come from `estimators`: given directly after training, or a loader
    that unpickles the verified artifacts the first time `scaler` or `kmeans` is used.
    """

    features: list[str]
    mean: np.ndarray
    scale: np.ndarray
    cluster_centers: np.ndarray  # standardized units, in KMeans label order
    segments: list[Segment]
    info: dict[str, Any] = field(default_factory=dict)
    estimators: Estimators | Callable[[], Estimators] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.mean = np.asarray(self.mean, dtype=np.float64)
        self.scale = np.asarray(self.scale, dtype=np.float64)
        self.cluster_centers = np.asarray(self.cluster_centers, dtype=np.float64)
        n_clusters, n_features = self.cluster_centers.shape
        labels = sorted(segment.kmeans_label for segment in self.segments)
        if labels != list(range(n_clusters)):
            raise ValueError("segments must map every KMeans label exactly once")
        if n_features != len(self.features) or self.mean.shape != (n_features,) or self.scale.shape != (n_features,):
            raise ValueError("scaler, KMeans and feature list disagree on the number of features")
        self.segments = sorted(self.segments, key=lambda segment: segment.segment_id)
        order = [segment.kmeans_label for segment in self.segments]
        # Fast-path copies: centroids in segment order, so an argmin index is a segment position.
        self._centroids = np.ascontiguousarray(self.cluster_centers[order])
        self._mean_list = self.mean.tolist()
        self._scale_list = self.scale.tolist()
        self._centroid_rows = self._centroids.tolist()
        self._by_id = {segment.segment_id: segment for segment in self.segments}
        # Segment ids as JSON object keys, built once rather than per prediction.
        self.segment_keys = [str(segment.segment_id) for segment in self.segments]

    @classmethod
    def from_estimators(
        cls,
        scaler: "StandardScaler",
        kmeans: "KMeans",
        features: list[str],
        segments: list[Segment],
        info: dict[str, Any] | None = None,
    ) -> "SegmentationModel":
        """Wrap freshly fitted estimators."""
        return cls(
            features, scaler.mean_, scaler.scale_, kmeans.cluster_centers_, segments, info or {}, (scaler, kmeans)
        )

    def parameters(self) -> dict[str, list]:
        """The fitted parameters as JSON-ready lists (exact: floats survive a JSON round trip)."""
        return {
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "cluster_centers": self.cluster_centers.tolist(),
        }

    def _estimators(self) -> Estimators:
        if callable(self.estimators):
            self.estimators = self.estimators()
        if self.estimators is None:
            raise ValueError("this model has no estimator objects")
        return self.estimators

    @property
    def scaler(self) -> "StandardScaler":
        """The fitted StandardScaler (unpickled on first use when loaded from artifacts)."""
        return self._estimators()[0]

    @property
    def kmeans(self) -> "KMeans":
        """The fitted KMeans (unpickled on first use when loaded from artifacts)."""
        return self._estimators()[1]

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

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return each row's segment position and its distances to every centroid (standardized units)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.features):
            raise ValueError(f"expected an array of shape (n, {len(self.features)}), got {X.shape}")
        n = X.shape[0]
        positions = np.empty(n, dtype=np.intp)
        # Stored centroid-major so each chunk writes contiguous rows; callers get the (n, k) view.
        distances = np.empty((self.n_clusters, n), dtype=np.float64)
        chunks = [(start, min(start + PREDICT_CHUNK_ROWS, n)) for start in range(0, n, PREDICT_CHUNK_ROWS)]
        workers = min(len(chunks), os.cpu_count() or 1, MAX_PREDICT_THREADS)
        if workers > 1:
            # numpy releases the GIL, so cache-sized chunks on several threads use every core.
            with ThreadPoolExecutor(workers) as pool:
                for _ in pool.map(lambda chunk: self._predict_chunk(X, positions, distances, *chunk), chunks):
                    pass
        else:
            for chunk in chunks:
                self._predict_chunk(X, positions, distances, *chunk)
        return positions, distances.T

    def _predict_chunk(
        self, X: np.ndarray, positions: np.ndarray, distances: np.ndarray, start: int, stop: int
    ) -> None:
        # Same operations, in the same order, as predict_one, so both give bit-identical answers; each
        # is one broadcast over all centroids (k x rows) rather than a numpy call per centroid.
        squared = distances[:, start:stop]
        diff = np.empty_like(squared)
        for f in range(X.shape[1]):
            z = (X[start:stop, f] - self.mean[f]) / self.scale[f]
            target = squared if f == 0 else diff
            np.subtract(z, self._centroids[:, f, None], out=target)
            np.multiply(target, target, out=target)
            if f:
                squared += diff
        # argmin over a short axis is slow in numpy; a min-reduce and k equality tests give the same
        # first-minimum answer about three times faster (`taken` makes the first minimum win a tie).
        nearest = np.minimum.reduce(squared, axis=0)
        position = np.zeros(stop - start, dtype=np.int8)
        taken = np.zeros(stop - start, dtype=bool)
        is_min = np.empty(stop - start, dtype=bool)
        for j in range(self.n_clusters):
            np.equal(squared[j], nearest, out=is_min)
            np.greater(is_min, taken, out=is_min)  # is_min and not taken
            if j:
                position += is_min.view(np.int8) * np.int8(j)
            taken |= is_min
        positions[start:stop] = position
        np.sqrt(squared, out=squared)

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
