"""The fitted segmentation model and its fast, exact prediction path."""

import math
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from app.models.features import Feature, features_of, to_model_space
from app.utils.geometry import clip_half_plane

if TYPE_CHECKING:  # scikit-learn is only needed to train or unpickle, never to predict
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

# Rows per prediction chunk: large enough to amortise per-call overhead, small enough to stay near the cache.
PREDICT_CHUNK_ROWS = 131_072
MAX_PREDICT_THREADS = 4
# A value counts as out of range when it lies beyond the training minimum or maximum by more than this
# fraction of the training span: a little beyond the data is interpolation, far beyond it is a guess.
OUT_OF_RANGE_MARGIN = 0.10
# Customers drawn on a segment map: the training sample a version stores, and the sample of a scored file.
MAP_SAMPLE_SIZE = 1_000
_DIRECTION = {"low": -1.0, "moderate": 0.0, "high": 1.0}

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _predict_pool() -> ThreadPoolExecutor:
    """Threads that share a large batch's chunks, started once (per call they cost ~2 ms in 1M rows)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            workers = min(os.cpu_count() or 1, MAX_PREDICT_THREADS)
            _pool = ThreadPoolExecutor(workers, thread_name_prefix="predict")
        return _pool


def _forget_pool() -> None:
    """A forked child has none of its parent's threads: it starts its own pool when it needs one."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


@dataclass(frozen=True)
class FeatureStats:
    """Summary of one feature within one segment of the training data."""

    mean: float
    std: float
    min: float
    max: float
    # The segment's typical range (10th and 90th percentiles of its members); None for versions trained before.
    p10: float | None = None
    p90: float | None = None

    @classmethod
    def of(cls, values: np.ndarray, *, typical: bool = False) -> "FeatureStats":
        """Summarise a column of values (with its p10 and p90 when `typical`)."""
        low, high = np.percentile(values, [10, 90]).tolist() if typical else (None, None)
        return cls(float(values.mean()), float(values.std()), float(values.min()), float(values.max()), low, high)

    def summary(self) -> dict[str, float]:
        """Mean, spread and range, as /clusters and data_stats show them."""
        return {"mean": self.mean, "std": self.std, "min": self.min, "max": self.max}

    def to_dict(self) -> dict[str, float]:
        """Serialise for model_info.json: what was recorded, nothing for what was not."""
        return {name: value for name, value in self.__dict__.items() if value is not None}


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
    # Who the segment's training customers are, when the data says: {"age": {mean, median, q1, q3},
    # "gender": {value: share}}; a part is absent (never zero) when its column was missing.
    profile: dict[str, Any] | None = None
    # The name training gave, when the team renamed the segment (app/models/versions/segment_edits.py); never saved.
    generated_name: str | None = None

    @property
    def metric_name(self) -> str:
        """The name metrics are labelled with: always the generated one, so a rename never breaks a time series."""
        return self.generated_name or self.name

    def to_dict(self) -> dict[str, Any]:
        """Serialise for model_info.json."""
        data = self.__dict__.copy()
        data.pop("generated_name")
        data["stats"] = {name: stats.to_dict() for name, stats in self.stats.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Segment":
        """Rebuild from model_info.json."""
        data = dict(data)
        data["stats"] = {name: FeatureStats(**stats) for name, stats in data["stats"].items()}
        return cls(**data)


Estimators = tuple["StandardScaler", "KMeans"]


def _first_minimum(values: np.ndarray, minimum: np.ndarray) -> np.ndarray:
    """For each column of a (k, n) array, the row of its first value equal to `minimum` (argmin over axis 0).

    argmin over a short axis is slow in numpy; k equality tests give the same first-minimum answer about three
    times faster (`taken` makes the first minimum win a tie).
    """
    n = values.shape[1]
    position = np.zeros(n, dtype=np.int8)
    taken = np.zeros(n, dtype=bool)
    is_min = np.empty(n, dtype=bool)
    for j in range(values.shape[0]):
        np.equal(values[j], minimum, out=is_min)
        np.greater(is_min, taken, out=is_min)  # is_min and not taken
        if j:
            position += is_min.view(np.int8) * np.int8(j)
        taken |= is_min
    return position


@dataclass(frozen=True)
class Scores:
    """What the model says about each row of a batch; every front door renders these, none recomputes them."""

    positions: np.ndarray  # index into model.segments
    distances: np.ndarray  # (n, k) standardized distance to every centroid, in segment order
    nearest: np.ndarray  # distance to the own centroid
    runner_up: np.ndarray  # position of the second-nearest segment (-1 for a one-segment model)
    runner_up_distance: np.ndarray
    confidence: np.ndarray  # 1 - nearest / runner_up_distance: 1 at the centroid, 0 on the boundary
    is_atypical: np.ndarray  # far from the centroid in a direction the segment does not stand for
    out_of_range: np.ndarray  # (n, n_features) beyond the training range by more than the margin
    any_out_of_range: np.ndarray  # (n,) at least one feature out of range

    def __len__(self) -> int:
        return len(self.positions)


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
        if self.cluster_centers.ndim != 2 or 0 in self.cluster_centers.shape:
            raise ValueError("cluster centres must be a non-empty (k, n_features) table")
        n_clusters, n_features = self.cluster_centers.shape
        labels = sorted(segment.kmeans_label for segment in self.segments)
        if labels != list(range(n_clusters)):
            raise ValueError("segments must map every KMeans label exactly once")
        if n_features != len(self.features) or self.mean.shape != (n_features,) or self.scale.shape != (n_features,):
            raise ValueError("scaler, KMeans and feature list disagree on the number of features")
        if not all(np.isfinite(a).all() for a in (self.mean, self.scale, self.cluster_centers)):
            raise ValueError("fitted parameters must be finite numbers")
        if not (self.scale > 0).all():
            raise ValueError("every feature's scale must be positive")
        if len({segment.segment_id for segment in self.segments}) != n_clusters:
            raise ValueError("segment ids must be distinct")
        self.segments = sorted(self.segments, key=lambda segment: segment.segment_id)
        # Each feature's name, label, unit, range and transform, as the version was trained (signed with it).
        self.feature_specs: list[Feature] = features_of(self.info, self.features)
        # Columns the model sees as log(1 + x): fitted parameters live in that space, inputs arrive in original units.
        self._log_columns = [i for i, spec in enumerate(self.feature_specs) if spec.transform == "log1p"]
        order = [segment.kmeans_label for segment in self.segments]
        # Fast-path copies: centroids in segment order, so an argmin index is a segment position.
        self._centroids = np.ascontiguousarray(self.cluster_centers[order])
        self._mean_list = self.mean.tolist()
        self._scale_list = self.scale.tolist()
        self._centroid_rows = self._centroids.tolist()
        self._by_id = {segment.segment_id: segment for segment in self.segments}
        # Segment ids as JSON object keys, built once rather than per prediction.
        self.segment_keys = [str(segment.segment_id) for segment in self.segments]
        self._directions = np.array(
            [
                [_DIRECTION.get(segment.levels.get(f, "moderate"), 0.0) for f in self.features]
                for segment in self.segments
            ]
        )
        self._atypical_radius = np.array([segment.distance_p95 for segment in self.segments])
        self._direction_rows = self._directions.tolist()
        self._atypical_list = self._atypical_radius.tolist()
        self.training_range = self._training_range()
        low, high = self.training_range
        span = high - low
        self.accepted_range = (low - OUT_OF_RANGE_MARGIN * span, high + OUT_OF_RANGE_MARGIN * span)
        self._accepted_lists = (self.accepted_range[0].tolist(), self.accepted_range[1].tolist())

    def _training_range(self) -> tuple[np.ndarray, np.ndarray]:
        """Each feature's minimum and maximum in the training data (unbounded when not recorded)."""
        stats = self.info.get("data_stats") or {}
        low = [float(stats.get(f, {}).get("min", -np.inf)) for f in self.features]
        high = [float(stats.get(f, {}).get("max", np.inf)) for f in self.features]
        return np.array(low), np.array(high)

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

    @property
    def transformed(self) -> bool:
        """Whether any feature is clustered on a transform of its values (then maps cannot be cut by straight lines)."""
        return bool(self._log_columns)

    def to_model_space(self, X: np.ndarray) -> np.ndarray:
        """Original units to what the scaler and centroids were fitted on (X itself when nothing is transformed)."""
        return to_model_space(X, self.feature_specs)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return each row's segment position and its distances to every centroid (standardized units)."""
        X = self.to_model_space(self._checked(X))
        # Stored centroid-major so each chunk writes contiguous rows; callers get the (n, k) view.
        distances = np.empty((self.n_clusters, X.shape[0]), dtype=np.float64)
        return self._nearest(X, distances), distances.T

    def labels(self, X: np.ndarray) -> np.ndarray:
        """Return each row's segment position only: `predict` without the (n, k) distance table."""
        return self._nearest(self.to_model_space(self._checked(X)), None)

    def _checked(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.features):
            raise ValueError(f"expected an array of shape (n, {len(self.features)}), got {X.shape}")
        return X

    def _nearest(self, X: np.ndarray, distances: np.ndarray | None) -> np.ndarray:
        """Each row's nearest segment position, filling `distances` (k, n) when one is given."""
        n = X.shape[0]
        positions = np.empty(n, dtype=np.intp)
        chunks = [(start, min(start + PREDICT_CHUNK_ROWS, n)) for start in range(0, n, PREDICT_CHUNK_ROWS)]
        if len(chunks) > 1 and min(os.cpu_count() or 1, MAX_PREDICT_THREADS) > 1:
            # numpy releases the GIL, so cache-sized chunks on several threads use every core.
            for _ in _predict_pool().map(lambda chunk: self._predict_chunk(X, positions, distances, *chunk), chunks):
                pass
        else:
            for chunk in chunks:
                self._predict_chunk(X, positions, distances, *chunk)
        return positions

    def _predict_chunk(
        self, X: np.ndarray, positions: np.ndarray, distances: np.ndarray | None, start: int, stop: int
    ) -> None:
        # One broadcast per feature over all centroids (k x rows) rather than a numpy call per centroid.
        squared = np.empty((self.n_clusters, stop - start)) if distances is None else distances[:, start:stop]
        diff = np.empty_like(squared)
        for f in range(X.shape[1]):
            z = (X[start:stop, f] - self.mean[f]) / self.scale[f]
            target = squared if f == 0 else diff
            np.subtract(z, self._centroids[:, f, None], out=target)
            np.multiply(target, target, out=target)
            if f:
                squared += diff
        nearest = np.minimum.reduce(squared, axis=0)
        positions[start:stop] = _first_minimum(squared, nearest)
        if distances is not None:
            np.sqrt(squared, out=squared)

    def predict_one(self, values: Sequence[float]) -> tuple[int, list[float]]:
        """Predict one customer in plain Python, with no array overhead (a single request's hot path)."""
        values = self._one_in_model_space(values)
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

    def standardized_one(self, values: Sequence[float]) -> list[float]:
        """One customer's values (original units) in training standard deviations from the mean, per feature."""
        seen = self._one_in_model_space(values)
        return [(v - mean) / scale for v, mean, scale in zip(seen, self._mean_list, self._scale_list, strict=True)]

    def _one_in_model_space(self, values: Sequence[float]) -> Sequence[float]:
        if not self._log_columns:
            return values
        values = list(values)
        for column in self._log_columns:
            values[column] = math.log1p(values[column])
        return values

    def score(self, X: np.ndarray) -> Scores:
        """Segment, distances, confidence, runner-up and the atypical and out-of-range flags of every row."""
        X = np.asarray(X, dtype=np.float64)
        positions, distances = self.predict(X)
        return self._scores(X, positions, distances)

    def score_one(self, values: Sequence[float]) -> Scores:
        """`score` for one customer, in plain Python: a single request's hot path.

        Numpy costs more per call than the whole computation for one row, so this kernel repeats `_scores`
        step for step on floats; tests/models/test_model.py holds the two to the same answers on random,
        boundary, atypical and out-of-range points.
        """
        position, distances = self.predict_one(values)
        nearest = distances[position]
        runner_up, runner_up_distance = -1, math.inf
        for j, distance in enumerate(distances):
            if j != position and distance < runner_up_distance:
                runner_up, runner_up_distance = j, distance
        confidence = 1.0 - nearest / runner_up_distance if runner_up_distance > 0 else 1.0
        confidence = 1.0 if math.isnan(confidence) else min(max(confidence, 0.0), 1.0)
        unexplained = 0.0
        for value, mean, scale, centre, direction in zip(
            self._one_in_model_space(values),
            self._mean_list,
            self._scale_list,
            self._centroid_rows[position],
            self._direction_rows[position],
            strict=True,
        ):
            offset = (value - mean) / scale - centre
            if not direction * offset > 0:
                unexplained += offset * offset
        low, high = self._accepted_lists
        out_of_range = [not lo <= v <= hi for v, lo, hi in zip(values, low, high, strict=True)]
        return Scores(
            np.array([position]),
            np.array([distances]),
            np.array([nearest]),
            np.array([runner_up]),
            np.array([runner_up_distance]),
            np.array([confidence]),
            np.array([math.sqrt(unexplained) > self._atypical_list[position]]),
            np.array([out_of_range]),
            np.array([True in out_of_range]),
        )

    def _scores(self, X: np.ndarray, positions: np.ndarray, distances: np.ndarray) -> Scores:
        """The one place that says what confidence, runner-up, atypical and out-of-range mean."""
        by_centroid = distances.T  # (k, n): contiguous as predict returns it, so the reductions below are fast
        rows = np.arange(len(positions))
        nearest = by_centroid[positions, rows]
        if self.n_clusters > 1:
            others = by_centroid.copy()
            others[positions, rows] = np.inf
            runner_up_distance = np.minimum.reduce(others, axis=0)
            runner_up = _first_minimum(others, runner_up_distance).astype(np.intp)
        else:
            runner_up = np.full(len(positions), -1)
            runner_up_distance = np.full(len(positions), np.inf)
        # 1 at the centroid, 0 on the boundary with the runner-up.
        with np.errstate(divide="ignore", invalid="ignore"):
            confidence = np.where(runner_up_distance > 0, 1.0 - nearest / runner_up_distance, 1.0)
        confidence = np.clip(np.nan_to_num(confidence, nan=1.0), 0.0, 1.0)
        # Atypical: far from the centroid in a direction the segment does not stand for. Being further out
        # along the segment's own direction (a richer VIP) is not doubtful; drifting sideways or back is.
        # Feature by feature on 1-d columns: numpy is several times slower on (n, 2) arrays than on two (n,) ones.
        low, high = self.accepted_range
        unexplained = np.zeros(len(positions))
        out_of_range = np.empty(X.shape, dtype=bool)
        for f in range(X.shape[1]):
            column = X[:, f]
            seen = np.log1p(column) if f in self._log_columns else column
            offset = (seen - self.mean[f]) / self.scale[f] - self._centroids[:, f].take(positions)
            along = self._directions[:, f].take(positions) * offset > 0
            offset[along] = 0.0
            unexplained += offset * offset
            out_of_range[:, f] = (low[f] > column) | (high[f] < column)
        is_atypical = np.sqrt(unexplained) > self._atypical_radius.take(positions)
        any_out_of_range = np.logical_or.reduce(out_of_range, axis=1)
        return Scores(
            positions,
            distances,
            nearest,
            runner_up,
            runner_up_distance,
            confidence,
            is_atypical,
            out_of_range,
            any_out_of_range,
        )

    def decision_regions(
        self, x_range: tuple[float, float], y_range: tuple[float, float]
    ) -> list[list[tuple[float, float]]]:
        """Each segment's exact decision region within a rectangle of the two features, as a polygon (segment order).

        Nearest-centroid regions are convex cells bounded by straight lines in standardized space, and standardizing
        is affine, so in original units they are still convex polygons: clip the rectangle by one line per rival.
        """
        if len(self.features) != 2 or self.transformed:
            raise ValueError("decision regions need a model with exactly two untransformed features")
        (x0, x1), (y0, y1) = x_range, y_range
        regions = []
        for i, own in enumerate(self._centroids):
            polygon = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
            for j, other in enumerate(self._centroids):
                if j != i and polygon:
                    # |z - own|^2 <= |z - other|^2 with z = (x - mean) / scale is linear in x: a . x <= b.
                    a = 2 * (other - own) / self.scale
                    b = float(other @ other - own @ own + a @ self.mean)
                    polygon = clip_half_plane(polygon, (float(a[0]), float(a[1])), b)
            regions.append(polygon)
        return regions

    def decision_grid(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Segment positions on a 2-D grid of the first two features: shape (len(ys), len(xs))."""
        if len(self.features) != 2:
            raise ValueError("a decision grid needs a model with exactly two features")
        grid_x, grid_y = np.meshgrid(np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64))
        positions = self.labels(np.column_stack([grid_x.ravel(), grid_y.ravel()]))
        return positions.reshape(len(ys), len(xs))
