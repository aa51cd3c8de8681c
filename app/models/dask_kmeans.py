"""KMeans beyond memory on Dask: the scaler from partition moments, k-means++ on a uniform sample, exact Lloyd.

Every pass is a map-reduce over the dataset's partitions (app/models/dask_source.py): each task reads and cleans
one partition and returns a few small arrays; nothing of the data is kept between passes, so a dataset of any
size trains on workers of any memory. The results are scikit-learn's: the scaler's mean and population std are
StandardScaler's, and from the same initial centroids the iterations are KMeans(algorithm="lloyd")'s, with its
stopping rule (squared centroid shift summed over clusters <= tol * mean variance of the standardized data).
Dask itself is imported inside the functions that use it: nothing here loads when the server starts.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from app.models.dask_source import CleanPart, Reader
from app.models.features import Feature, to_model_space
from app.utils.csv_rows import WRONG_FIELDS, Malformed

if TYPE_CHECKING:
    from sklearn.preprocessing import StandardScaler

DEFAULT_TOL = 1e-4  # KMeans' default
DEFAULT_MAX_ITER = 300  # KMeans' default


@dataclass
class Moments:
    """Count, mean and sum of squared deviations per column, combined across partitions (Chan et al.)."""

    n: int
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def of(cls, X: np.ndarray) -> "Moments":
        """The moments of one block of rows."""
        if not len(X):
            return cls(0, np.zeros(X.shape[1]), np.zeros(X.shape[1]))
        mean = X.mean(axis=0)
        return cls(len(X), mean, ((X - mean) ** 2).sum(axis=0))

    def __add__(self, other: "Moments") -> "Moments":
        n = self.n + other.n
        if not other.n or not self.n:
            return self if other.n == 0 else other
        delta = other.mean - self.mean
        return Moments(n, self.mean + delta * other.n / n, self.m2 + other.m2 + delta**2 * self.n * other.n / n)

    @property
    def var(self) -> np.ndarray:
        """Population variance (ddof=0), as StandardScaler's var_."""
        return self.m2 / self.n if self.n else np.zeros_like(self.m2)


@dataclass
class Summary:
    """The first pass: rows read and dropped, moments in the features' units and the model's, a uniform sample."""

    n_input: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    raw: Moments | None = None
    seen: Moments | None = None
    minimum: np.ndarray | None = None
    maximum: np.ndarray | None = None
    # Bottom-k sample: the rows with the smallest random keys are a uniform sample without replacement.
    keys: np.ndarray | None = None
    X: np.ndarray | None = None
    demographics: dict[str, np.ndarray] = field(default_factory=dict)
    # CSV: the lines each partition spans (by index), and the first partition with malformed records, with its own.
    lines: dict[int, int] = field(default_factory=dict)
    first_malformed: tuple[int, Malformed] | None = None

    @property
    def n_kept(self) -> int:
        """Usable rows in the whole dataset."""
        return self.raw.n if self.raw is not None else 0

    def malformed(self) -> Malformed:
        """The records without the header's number of fields, the first one's line counted from the file's start."""
        if self.first_malformed is None:
            return Malformed()
        index, first = self.first_malformed
        before = sum(lines for part, lines in self.lines.items() if part < index)
        return Malformed(self.dropped.get(WRONG_FIELDS, 0), first.line + before, first.fields)


def _bottom(keys: np.ndarray, size: int) -> np.ndarray:
    """Indices of the `size` smallest keys, smallest first."""
    if len(keys) > size:
        chosen = np.argpartition(keys, size - 1)[:size]
        return chosen[np.argsort(keys[chosen])]
    return np.argsort(keys)


def _part_summary(raw: Any, reader: Reader, sample_size: int, seed: int, index: int) -> Summary:
    """Map: one partition's counts, moments, range and sample."""
    part = reader.clean(raw)
    X = part.X
    keys = np.random.default_rng([seed, index]).random(len(X))
    chosen = _bottom(keys, sample_size)
    return Summary(
        n_input=part.n_input,
        dropped=part.dropped,
        raw=Moments.of(X),
        seen=Moments.of(to_model_space(X, reader.specs)),
        minimum=X.min(axis=0) if len(X) else np.full(X.shape[1], np.inf),
        maximum=X.max(axis=0) if len(X) else np.full(X.shape[1], -np.inf),
        keys=keys[chosen],
        X=X[chosen],
        demographics={name: values[chosen] for name, values in part.demographics.items()},
        lines={index: part.lines},
        first_malformed=(index, part.malformed) if part.malformed.count else None,
    )


def _merge(total: Summary, part: Summary, sample_size: int) -> Summary:
    """Reduce: two summaries as one, the sample cut back to `sample_size` rows."""
    if total.raw is None:
        return part
    dropped = dict(total.dropped)
    for reason, count in part.dropped.items():
        dropped[reason] = dropped.get(reason, 0) + count
    keys = np.concatenate([total.keys, part.keys])
    chosen = _bottom(keys, sample_size)
    X = np.concatenate([total.X, part.X])
    return Summary(
        n_input=total.n_input + part.n_input,
        dropped=dropped,
        raw=total.raw + part.raw,
        seen=total.seen + part.seen,
        minimum=np.minimum(total.minimum, part.minimum),
        maximum=np.maximum(total.maximum, part.maximum),
        keys=keys[chosen],
        X=X[chosen],
        demographics={
            name: np.concatenate([values, part.demographics[name]])[chosen]
            for name, values in total.demographics.items()
        },
        lines={**total.lines, **part.lines},
        first_malformed=min(
            (first for first in (total.first_malformed, part.first_malformed) if first is not None),
            key=lambda first: first[0],
            default=None,
        ),
    )


def _run(client: Any, function: Callable, parts: list[Any], *args: Any) -> Iterator[Any]:
    """Map `function(part, *args, index)` over the partitions on the cluster; yield results as they finish."""
    import dask
    from distributed import as_completed

    tasks = [dask.delayed(function, pure=False)(part, *args, index) for index, part in enumerate(parts)]
    for future in as_completed(client.compute(tasks)):
        result = future.result()
        future.release()  # nothing of a partition stays on the cluster once its result is here
        yield result


def summarise(client: Any, reader: Reader, parts: list[Any], *, sample_size: int, seed: int) -> Summary:
    """Pass 1: rows, drops, moments, range and a uniform sample of at most `sample_size` usable rows."""
    total = Summary()
    for part in _run(client, _part_summary, parts, reader, sample_size, seed):
        total = _merge(total, part, sample_size)
    return total


def scaler_from_moments(moments: Moments, sample: np.ndarray) -> "StandardScaler":
    """A StandardScaler whose mean_, var_ and scale_ are those of all rows (fitted on `sample` for its shape)."""
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(sample)
    scaler.mean_ = moments.mean.copy()
    scaler.var_ = moments.var.copy()
    # StandardScaler's rule for constant columns: a scale of 1 rather than a division by zero.
    scale = np.sqrt(scaler.var_)
    scale[scale < 10 * np.finfo(scale.dtype).eps] = 1.0
    scaler.scale_ = scale
    scaler.n_samples_seen_ = moments.n
    return scaler


def _standardized(part: CleanPart, specs: Sequence[Feature], mean: np.ndarray, scale: np.ndarray) -> list[np.ndarray]:
    """The partition's standardized columns, each contiguous (a row of 2 numbers is too short to loop over)."""
    seen = to_model_space(part.X, specs)
    return [(seen[:, j] - mean[j]) / scale[j] for j in range(seen.shape[1])]


def nearest(Z: np.ndarray | list[np.ndarray], centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's nearest centre and its squared distance (the first centre on a tie, as argmin).

    `Z` is rows, or a list of columns. Column by column and centre by centre: k x d passes over n numbers,
    never an n x k matrix.
    """
    columns = Z if isinstance(Z, list) else [np.ascontiguousarray(Z[:, j]) for j in range(Z.shape[1])]
    n = len(columns[0])
    best = np.full(n, np.inf)
    labels = np.zeros(n, dtype=np.intp)
    distance, term, closer = np.empty(n), np.empty(n), np.empty(n, dtype=bool)
    for c, center in enumerate(centers):
        # In place: one pass of a million rows is a few milliseconds, an allocation more.
        np.subtract(columns[0], center[0], out=distance)
        np.multiply(distance, distance, out=distance)
        for column, value in zip(columns[1:], center[1:], strict=True):
            np.subtract(column, value, out=term)
            np.multiply(term, term, out=term)
            np.add(distance, term, out=distance)
        np.less(distance, best, out=closer)  # strictly: on a tie the first centre keeps the row, as argmin
        labels[closer] = c
        np.minimum(best, distance, out=best)
    return labels, best


@dataclass
class Step:
    """One Lloyd pass reduced over all partitions: per-cluster sums and counts, and the inertia."""

    sums: np.ndarray
    counts: np.ndarray
    inertia: float
    # Per cluster, in the features' own units (the last pass only): moments, minimum and maximum.
    raw: list[Moments] | None = None
    minimum: np.ndarray | None = None
    maximum: np.ndarray | None = None


def _part_step(
    raw: Any, reader: Reader, mean: np.ndarray, scale: np.ndarray, centers: np.ndarray, stats: bool, index: int
) -> Step:
    """Map: assign one partition's rows to their nearest centre and sum them per cluster."""
    part = reader.clean(raw, demographics=False)  # age and gender only for the sample, in the first pass
    columns = _standardized(part, reader.specs, mean, scale)
    k, d = centers.shape
    labels, squared = nearest(columns, centers)
    counts = np.bincount(labels, minlength=k)
    sums = np.stack([np.bincount(labels, weights=column, minlength=k) for column in columns], axis=1)
    step = Step(sums=sums, counts=counts, inertia=float(squared.sum()))
    if stats:
        members = [part.X[labels == c] for c in range(k)]
        step.raw = [Moments.of(rows) for rows in members]
        step.minimum = np.array([rows.min(axis=0) if len(rows) else np.full(d, np.inf) for rows in members])
        step.maximum = np.array([rows.max(axis=0) if len(rows) else np.full(d, -np.inf) for rows in members])
    return step


def lloyd_pass(
    client: Any,
    reader: Reader,
    parts: list[Any],
    *,
    mean: np.ndarray,
    scale: np.ndarray,
    centers: np.ndarray,
    stats: bool = False,
) -> Step:
    """One exact Lloyd pass over every partition, reduced here (k x d numbers per partition)."""
    total: Step | None = None
    for step in _run(client, _part_step, parts, reader, mean, scale, centers, stats):
        if total is None:
            total = step
            continue
        total.sums += step.sums
        total.counts += step.counts
        total.inertia += step.inertia
        if stats:
            total.raw = [a + b for a, b in zip(total.raw, step.raw, strict=True)]
            total.minimum = np.minimum(total.minimum, step.minimum)
            total.maximum = np.maximum(total.maximum, step.maximum)
    if total is None:
        raise ValueError("the dataset has no partitions")
    return total


@dataclass
class LloydResult:
    """Where Lloyd's iterations ended: the centres, and the last pass's labels' counts and inertia."""

    centers: np.ndarray
    n_iter: int
    final: Step = field(repr=False)


def lloyd(
    client: Any,
    reader: Reader,
    parts: list[Any],
    *,
    mean: np.ndarray,
    scale: np.ndarray,
    init: np.ndarray,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    mean_variance: float = 1.0,
    on_iteration: Callable[[int, float], None] | None = None,
) -> LloydResult:
    """Lloyd's iterations from `init` until the centres move less than KMeans' tolerance, or `max_iter` passes.

    `mean_variance` is the mean per-feature variance of the standardized data (KMeans scales `tol` by it).
    The last pass assigns every row to the final centres, as KMeans does, and also returns per-cluster stats.
    """
    centers = np.array(init, dtype=np.float64, copy=True)
    threshold = tol * mean_variance
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        step = lloyd_pass(client, reader, parts, mean=mean, scale=scale, centers=centers)
        filled = step.counts > 0
        # An empty cluster keeps its centre (KMeans would move it to a far point; rare after k-means++ seeding).
        moved = centers.copy()
        moved[filled] = step.sums[filled] / step.counts[filled, None]
        shift = float(((moved - centers) ** 2).sum())
        centers = moved
        if on_iteration is not None:
            on_iteration(n_iter, shift)
        if shift <= threshold:
            break
    final = lloyd_pass(client, reader, parts, mean=mean, scale=scale, centers=centers, stats=True)
    return LloydResult(centers=centers, n_iter=n_iter, final=final)


def kmeans_plusplus_seeds(sample_Z: np.ndarray, k: int, seed: int) -> np.ndarray:
    """k-means++ initial centres drawn from a sample (scikit-learn's kmeans_plusplus, seeded)."""
    from sklearn.cluster import kmeans_plusplus

    centers, _ = kmeans_plusplus(sample_Z, k, random_state=seed)
    return centers
