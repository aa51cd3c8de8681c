"""Training pipeline: clean data, choose k, fit, name segments, measure, save."""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
from sklearn.preprocessing import StandardScaler

from app.core.errors import InvalidDataset
from app.models.artifacts import save_model
from app.models.dataset import CleanedDataset, clean_customers, load_customers, write_processed
from app.models.features import DEFAULT_FEATURES, FEATURES
from app.models.segmenter import FeatureStats, Segment, SegmentationModel
from app.models.segments import name_segments
from app.utils.hashing import sha256_file

K_RANGE = range(2, 11)
DEFAULT_K = 5
DEFAULT_SEED = 42
N_INIT = 10
# Silhouette is O(n^2): above this many rows it is computed on a fixed-seed sample.
SILHOUETTE_SAMPLE_SIZE = 10_000
# The k sweep only needs the shape of the curves: above this many rows it runs on a sample.
K_SELECTION_SAMPLE_SIZE = 50_000
# Customers kept in model_info.json so pages can draw the segment map without the training file.
MAP_SAMPLE_SIZE = 1_000

KChoice = int | Literal["auto"]


@dataclass(frozen=True)
class KScore:
    """Evidence for one candidate k."""

    k: int
    inertia: float
    silhouette: float


@dataclass
class TrainingResult:
    """What a training run produced."""

    model: SegmentationModel
    dataset: CleanedDataset
    output_dir: Path
    processed_path: Path | None


def fit_kmeans(Z: np.ndarray, k: int, seed: int) -> KMeans:
    """Fit KMeans with the project's fixed settings on standardized data."""
    return KMeans(n_clusters=k, init="k-means++", n_init=N_INIT, random_state=seed).fit(Z)


def silhouette(Z: np.ndarray, labels: np.ndarray, seed: int) -> float:
    """Silhouette score, on a fixed-seed sample when the data is large."""
    sample = SILHOUETTE_SAMPLE_SIZE if len(Z) > SILHOUETTE_SAMPLE_SIZE else None
    return float(silhouette_score(Z, labels, sample_size=sample, random_state=seed))


def _sample(Z: np.ndarray, size: int, seed: int) -> np.ndarray:
    if len(Z) <= size:
        return Z
    return Z[np.random.default_rng(seed).choice(len(Z), size, replace=False)]


def select_k(Z: np.ndarray, seed: int, ks: range = K_RANGE) -> tuple[list[KScore], dict[int, KMeans]]:
    """Fit every candidate k and score it; fitted models come back when fit on all of Z."""
    data = _sample(Z, K_SELECTION_SAMPLE_SIZE, seed)
    scores, fitted = [], {}
    for k in ks:
        if k >= len(data):
            break
        kmeans = fit_kmeans(data, k, seed)
        scores.append(KScore(k, float(kmeans.inertia_), silhouette(data, kmeans.labels_, seed)))
        if data is Z:
            fitted[k] = kmeans
    return scores, fitted


def best_k(scores: list[KScore]) -> int:
    """The candidate with the highest silhouette (the smaller k on a tie)."""
    return max(scores, key=lambda score: (score.silhouette, -score.k)).k


def _profiles(
    X: np.ndarray, Z: np.ndarray, scaler: StandardScaler, kmeans: KMeans, features: list[str]
) -> list[Segment]:
    """Name each cluster and describe its training customers."""
    centroids = scaler.inverse_transform(kmeans.cluster_centers_)
    names = name_segments(centroids, features, X.mean(axis=0), X.std(axis=0))
    labels = kmeans.labels_
    distances = np.linalg.norm(Z - kmeans.cluster_centers_[labels], axis=1)
    segments = []
    for named in names:
        members = labels == named.kmeans_label
        rows = X[members]
        segments.append(
            Segment(
                segment_id=named.segment_id,
                name=named.name,
                kmeans_label=named.kmeans_label,
                levels=named.levels,
                description=named.description,
                strategy=list(named.strategy),
                characteristics=list(named.characteristics),
                centroid={f: float(v) for f, v in zip(features, centroids[named.kmeans_label], strict=True)},
                size=int(members.sum()),
                share=float(members.mean()),
                stats={f: FeatureStats.of(rows[:, i]) for i, f in enumerate(features)},
                distance_p95=float(np.percentile(distances[members], 95)),
            )
        )
    return segments


def fit_model(
    X: np.ndarray, features: list[str], *, k: KChoice = DEFAULT_K, seed: int = DEFAULT_SEED
) -> SegmentationModel:
    """Fit scaler and KMeans on X (original units) and return a named, measured model."""
    X = np.asarray(X, dtype=np.float64)
    scaler = StandardScaler().fit(X)
    Z = scaler.transform(X)
    scores, fitted = select_k(Z, seed)
    if not scores:
        raise InvalidDataset(f"need at least {K_RANGE.start + 1} usable rows to compare cluster counts")
    chosen = best_k(scores) if k == "auto" else k
    kmeans = fitted.get(chosen) or fit_kmeans(Z, chosen, seed)
    labels = kmeans.labels_
    info: dict[str, Any] = {
        "algorithm": "KMeans",
        "init": "k-means++",
        "n_init": N_INIT,
        "scaling": "StandardScaler",
        "n_clusters": chosen,
        "k_requested": str(k),
        "features": list(features),
        "feature_labels": {f: FEATURES[f].label for f in features},
        "random_state": seed,
        "n_samples": len(X),
        "metrics": {
            "inertia": float(kmeans.inertia_),
            "silhouette": silhouette(Z, labels, seed),
            "davies_bouldin": float(davies_bouldin_score(Z, labels)),
            "calinski_harabasz": float(calinski_harabasz_score(Z, labels)),
            "silhouette_sample_size": min(len(Z), SILHOUETTE_SAMPLE_SIZE),
        },
        "k_selection": [score.__dict__ for score in scores],
        "k_selection_sample_size": min(len(Z), K_SELECTION_SAMPLE_SIZE),
        "data_stats": {f: FeatureStats.of(X[:, i]).__dict__ for i, f in enumerate(features)},
        "map_sample": np.round(_sample(X, MAP_SAMPLE_SIZE, seed), 3).tolist(),
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
    }
    return SegmentationModel(scaler, kmeans, list(features), _profiles(X, Z, scaler, kmeans, features), info)


def train(
    data_path: str | Path,
    *,
    output_dir: str | Path,
    k: KChoice = DEFAULT_K,
    features: list[str] | tuple[str, ...] = DEFAULT_FEATURES,
    seed: int = DEFAULT_SEED,
    processed_dir: str | Path | None = None,
) -> TrainingResult:
    """Run the whole pipeline from a CSV to saved, verified artifacts."""
    features = list(features)
    unknown = [f for f in features if f not in FEATURES]
    if unknown or len(set(features)) != len(features) or not features:
        raise InvalidDataset(f"features must be distinct names from: {', '.join(FEATURES)}; got {', '.join(features)}")
    if k != "auto" and not (K_RANGE.start <= k < K_RANGE.stop):
        raise InvalidDataset(f"k must be 'auto' or between {K_RANGE.start} and {K_RANGE.stop - 1}, got {k}")
    data_path = Path(data_path)
    max_k = K_RANGE.stop - 1 if k == "auto" else k
    dataset = clean_customers(load_customers(data_path), features=features, min_rows=max_k + 1)
    processed_path = None
    if processed_dir is not None:
        processed_path = write_processed(dataset.frame, Path(processed_dir) / f"{data_path.stem}_processed.csv")
    model = fit_model(dataset.frame[features].to_numpy(dtype=np.float64), features, k=k, seed=seed)
    trained_at = datetime.now(UTC)
    data_sha256 = sha256_file(data_path)
    model.info.update(
        {
            "version": f"{trained_at:%Y%m%d.%H%M%S}-{data_sha256[:8]}",
            "trained_at": trained_at.isoformat(timespec="seconds"),
            "data_file": data_path.name,
            "data_sha256": data_sha256,
            "n_input_rows": dataset.n_input_rows,
            "dropped_rows": dataset.dropped,
        }
    )
    save_model(model, output_dir)
    return TrainingResult(model, dataset, Path(output_dir), processed_path)
