"""Model evaluation for the notebooks: KMeans against other algorithms, and how stable its segments are."""

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from app.models.clustering import DEFAULT_SEED, clustering_metrics, fit_kmeans


def compare_algorithms(Z: np.ndarray, k: int, seed: int = DEFAULT_SEED) -> list[dict[str, float | str]]:
    """KMeans, Agglomerative (Ward) and a Gaussian mixture on the same standardized data and k."""
    labellings = {
        "KMeans": fit_kmeans(Z, k, seed).labels_,
        "Agglomerative (Ward)": AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(Z),
        "Gaussian Mixture": GaussianMixture(n_components=k, n_init=5, random_state=seed).fit(Z).predict(Z),
    }
    return [{"algorithm": name, **clustering_metrics(Z, labels, seed)} for name, labels in labellings.items()]


@dataclass(frozen=True)
class Stability:
    """Adjusted Rand index of re-fitted models against a reference fit (1.0 means identical segments)."""

    seed_ari: list[float]
    bootstrap_ari: list[float]

    @property
    def min_ari(self) -> float:
        """The worst agreement seen."""
        return min(self.seed_ari + self.bootstrap_ari)


def stability(
    Z: np.ndarray, k: int, *, seeds: range = range(10), n_bootstrap: int = 10, seed: int = DEFAULT_SEED
) -> Stability:
    """Re-fit with other seeds and on bootstrap resamples; compare every customer's cluster with the reference."""
    reference = fit_kmeans(Z, k, seed).labels_
    seed_ari = [float(adjusted_rand_score(reference, fit_kmeans(Z, k, s).labels_)) for s in seeds]
    rng = np.random.default_rng(seed)
    bootstrap_ari = []
    for _ in range(n_bootstrap):
        resample = Z[rng.integers(0, len(Z), len(Z))]
        # Fit on the resample, then label every original customer, so the two labellings are comparable.
        labels = fit_kmeans(resample, k, seed).predict(Z)
        bootstrap_ari.append(float(adjusted_rand_score(reference, labels)))
    return Stability(seed_ari, bootstrap_ari)
