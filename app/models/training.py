"""Training pipeline: clean data, choose k, fit, name segments, measure, save."""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

from app.core.errors import InvalidDataset
from app.models.artifacts import save_model
from app.models.clustering import (
    DEFAULT_K,
    DEFAULT_SEED,
    K_RANGE,
    N_INIT,
    best_k,
    clustering_metrics,
    fit_kmeans,
    sample_rows,
    select_k,
)
from app.models.dataset import CleanedDataset, clean_customers, load_customers, write_processed
from app.models.features import DEFAULT_FEATURES, FEATURES
from app.models.model import FeatureStats, Segment, SegmentationModel
from app.models.naming import name_segments
from app.models.reference import drift_reference
from app.utils.hashing import sha256_file

# Customers kept in model_info.json so pages can draw the segment map without the training file.
MAP_SAMPLE_SIZE = 1_000

KChoice = int | Literal["auto"]


@dataclass
class TrainingResult:
    """What a training run produced."""

    model: SegmentationModel
    dataset: CleanedDataset
    output_dir: Path
    processed_path: Path | None


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
    selection = select_k(Z, seed)
    if not selection.scores:
        raise InvalidDataset(f"need at least {K_RANGE.start + 1} usable rows to compare cluster counts")
    chosen = best_k(selection.scores) if k == "auto" else k
    kmeans = selection.fitted.get(chosen) or fit_kmeans(Z, chosen, seed)
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
        "metrics": {"inertia": float(kmeans.inertia_), **clustering_metrics(Z, labels, seed)},
        "k_selection": [score.__dict__ for score in selection.scores],
        "k_selection_sample_size": selection.sample_size,
        "data_stats": {f: FeatureStats.of(X[:, i]).__dict__ for i, f in enumerate(features)},
        "map_sample": np.round(sample_rows(X, MAP_SAMPLE_SIZE, seed), 3).tolist(),
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
    }
    model = SegmentationModel.from_estimators(
        scaler, kmeans, list(features), _profiles(X, Z, scaler, kmeans, features), info
    )
    scores = model.score(X)
    info["drift_reference"] = drift_reference(
        X, list(features), atypical=scores.is_atypical, out_of_range=scores.out_of_range.any(axis=1)
    )
    return model


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
