"""Clustering primitives shared by training, evaluation and the notebooks: fit, score, choose k."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:  # scikit-learn loads when something is fitted: the server reads K_RANGE without paying for it
    from sklearn.cluster import KMeans

K_RANGE = range(2, 11)
DEFAULT_K = 5
# k='auto' picks only among k whose segments could hold this many customers each on average: silhouette alone
# favoured 10 segments of 1 to 5 customers on a file of 24.
MIN_CUSTOMERS_PER_SEGMENT = 5
DEFAULT_SEED = 42
# The largest seed taken, from the API's form and the CLI alike (NumPy's own limit is 2**32 - 1).
MAX_SEED = 2**31 - 1
N_INIT = 10
# Silhouette is O(n^2): above this many rows it is computed on a fixed-seed sample (5,000 rows keep
# its standard error near 0.005 while a 1M-row training run stays within seconds).
SILHOUETTE_SAMPLE_SIZE = 5_000
# The k sweep only needs the shape of the curves: above this many rows it runs on a sample.
K_SELECTION_SAMPLE_SIZE = 50_000
# Rows looked at first when counting distinct customers (see count_distinct).
_DISTINCT_HEAD = 5_000


def parse_k(value: str) -> int | Literal["auto"]:
    """'auto' or a whole number within K_RANGE written with the digits 0-9; ValueError with a plain message."""
    text = value.strip().lower()
    if text == "auto":
        return "auto"
    # int() also reads "1_0", "+5" and other scripts' digits ("\u0665" is 5): a k is written with 0-9 only.
    if not (text.isascii() and text.isdigit()):
        raise ValueError("k must be 'auto' or a whole number written with the digits 0-9")
    k = int(text)
    if k not in K_RANGE:
        raise ValueError(f"k must be between {K_RANGE.start} and {K_RANGE.stop - 1}")
    return k


@dataclass(frozen=True)
class KScore:
    """Evidence for one candidate k."""

    k: int
    inertia: float
    silhouette: float


def fit_kmeans(Z: np.ndarray, k: int, seed: int, init: np.ndarray | None = None) -> "KMeans":
    """Fit KMeans with the project's fixed settings on standardized data; from `init` (k centroids in the same
    standardized space) when given, a warm start that runs once."""
    from sklearn.cluster import KMeans

    if init is not None:
        return KMeans(n_clusters=k, init=init, n_init=1, random_state=seed).fit(Z)
    return KMeans(n_clusters=k, init="k-means++", n_init=N_INIT, random_state=seed).fit(Z)


def silhouette(Z: np.ndarray, labels: np.ndarray, seed: int) -> float:
    """Silhouette score, on a fixed-seed sample when the data is large."""
    from sklearn.metrics import silhouette_score

    sample = SILHOUETTE_SAMPLE_SIZE if len(Z) > SILHOUETTE_SAMPLE_SIZE else None
    return float(silhouette_score(Z, labels, sample_size=sample, random_state=seed))


def clustering_metrics(Z: np.ndarray, labels: np.ndarray, seed: int) -> dict[str, float]:
    """Silhouette (sampled when large), Davies-Bouldin and Calinski-Harabasz of a labelling."""
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

    return {
        "silhouette": silhouette(Z, labels, seed),
        "davies_bouldin": float(davies_bouldin_score(Z, labels)),
        "calinski_harabasz": float(calinski_harabasz_score(Z, labels)),
        "silhouette_sample_size": min(len(Z), SILHOUETTE_SAMPLE_SIZE),
    }


def count_distinct(X: np.ndarray, *, at_most: int) -> int:
    """Distinct rows of X, counted up to `at_most`."""
    # Sorting a million rows takes seconds; the first few thousand rows nearly always settle the question.
    found = len(np.unique(X[:_DISTINCT_HEAD], axis=0))
    if found < at_most and len(X) > _DISTINCT_HEAD:
        found = len(np.unique(X, axis=0))
    return min(found, at_most)


def sample_rows(Z: np.ndarray, size: int, seed: int) -> np.ndarray:
    """At most `size` rows of Z, drawn without replacement with a fixed seed."""
    if len(Z) <= size:
        return Z
    return Z[np.random.default_rng(seed).choice(len(Z), size, replace=False)]


@dataclass
class KSelection:
    """The k sweep: a score per k, the rows it ran on, and the fitted models when those were all rows."""

    scores: list[KScore]
    sample_size: int
    fitted: dict[int, "KMeans"]


def select_k(
    Z: np.ndarray, seed: int, ks: range = K_RANGE, *, on_step: Callable[[int, int, int], None] | None = None
) -> KSelection:
    """Fit every candidate k and score it (on a fixed-seed sample when the data is large).

    `on_step(step, total, k)` is called before each candidate, for progress bars and job status.
    """
    data = sample_rows(Z, K_SELECTION_SAMPLE_SIZE, seed)
    selection = KSelection(scores=[], sample_size=len(data), fitted={})
    candidates = [k for k in ks if k < len(data)]
    for step, k in enumerate(candidates, start=1):
        if on_step is not None:
            on_step(step, len(candidates), k)
        kmeans = fit_kmeans(data, k, seed)
        selection.scores.append(KScore(k, float(kmeans.inertia_), silhouette(data, kmeans.labels_, seed)))
        if data is Z:
            selection.fitted[k] = kmeans
    return selection


def best_k(scores: list[KScore], rows: int) -> int:
    """The candidate with the highest silhouette (the smaller k on a tie) among those `rows` customers support."""
    supported = [score for score in scores if score.k * MIN_CUSTOMERS_PER_SEGMENT <= rows] or scores[:1]
    return max(supported, key=lambda score: (score.silhouette, -score.k)).k
