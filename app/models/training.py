"""Training pipeline: clean data, choose k, fit, name segments, measure, save."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import sklearn
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

from app.core.errors import InvalidDataset, SegmentationError
from app.models.clustering import (
    DEFAULT_K,
    DEFAULT_SEED,
    K_RANGE,
    N_INIT,
    KSelection,
    best_k,
    clustering_metrics,
    count_distinct,
    fit_kmeans,
    sample_rows,
    select_k,
)
from app.models.dataset import CleanedDataset, clean_customers, load_customers, write_processed
from app.models.features import DEFAULT_FEATURES, FEATURES, Feature, from_model_space, to_model_space
from app.models.importance import explainability
from app.models.model import MAP_SAMPLE_SIZE, FeatureStats, Segment, SegmentationModel
from app.models.naming import name_segments
from app.models.projection import fitted_projection
from app.models.reference import drift_reference
from app.models.versions.artifacts import ensure_writable, save_model
from app.models.versions.store import VersionStore, new_version_id
from app.utils.hashing import sha256_file

# Customers kept in model_info.json so pages can draw the segment map without the training file.

KChoice = int | Literal["auto"]
# Receives progress events: {"stage": "k_sweep", "step": 3, "of": 9, "k": 4}, {"stage": "cleaning", "rows_read": n}, ...
Progress = Callable[[dict[str, Any]], None]


@dataclass
class TrainingResult:
    """What a training run produced."""

    model: SegmentationModel
    dataset: CleanedDataset
    output_dir: Path  # the new version's folder
    processed_path: Path | None
    activated: bool = False


def demographic_profile(ages: np.ndarray | None, genders: np.ndarray | None) -> dict[str, Any] | None:
    """Age quartiles and gender shares of some customers; None when neither is known."""
    profile: dict[str, Any] = {}
    if ages is not None:
        ages = ages[np.isfinite(ages)]
        if len(ages):
            q1, median, q3 = np.percentile(ages, [25, 50, 75])
            profile["age"] = {
                "mean": round(float(ages.mean()), 2),
                "median": round(float(median), 2),
                "q1": round(float(q1), 2),
                "q3": round(float(q3), 2),
            }
    if genders is not None:
        known = [value for value in genders.tolist() if value]
        if known:
            values, counts = np.unique(known, return_counts=True)
            profile["gender"] = {
                str(value): round(int(count) / len(known), 4) for value, count in zip(values, counts, strict=True)
            }
    return profile or None


def _demographics(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Age as numbers and gender as tidy text, for whichever of the two columns the data has."""
    columns: dict[str, np.ndarray] = {}
    if "age" in frame.columns:
        columns["age"] = pd.to_numeric(frame["age"], errors="coerce").to_numpy(dtype=np.float64)
    if "gender" in frame.columns:
        columns["gender"] = frame["gender"].fillna("").astype(str).str.strip().str.capitalize().to_numpy()
    return columns


def _profiles(
    X: np.ndarray,
    Z: np.ndarray,
    scaler: StandardScaler,
    kmeans: KMeans,
    specs: list[Feature],
    demographics: dict[str, np.ndarray],
    reference: SegmentationModel | None,
    used_ids: list[int],
    vocabulary: str | None = None,
) -> list[Segment]:
    """Name each cluster and describe its training customers."""
    features = [spec.name for spec in specs]
    # Named where the model sees them (log space for log1p features), described in the features' own units.
    seen = scaler.inverse_transform(kmeans.cluster_centers_)
    centroids = from_model_space(seen, specs)
    names = name_segments(
        seen,
        features,
        scaler.mean_,
        scaler.scale_,
        reference=reference.segments if reference is not None else None,
        used_ids=used_ids,
        specs=specs,
        shown=centroids,
        **({"vocabulary": vocabulary} if vocabulary else {}),
    )
    labels = kmeans.labels_
    distances = np.linalg.norm(Z - kmeans.cluster_centers_[labels], axis=1)
    ages, genders = demographics.get("age"), demographics.get("gender")
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
                stats={f: FeatureStats.of(rows[:, i], typical=True) for i, f in enumerate(features)},
                distance_p95=float(np.percentile(distances[members], 95)),
                profile=demographic_profile(
                    ages[members] if ages is not None else None, genders[members] if genders is not None else None
                ),
            )
        )
    return segments


def fit_model(
    X: np.ndarray,
    features: list[str],
    *,
    specs: list[Feature] | None = None,
    k: KChoice = DEFAULT_K,
    seed: int = DEFAULT_SEED,
    sweep: bool = True,
    demographics: dict[str, np.ndarray] | None = None,
    provenance: Mapping[str, Any] | None = None,
    reference: SegmentationModel | None = None,
    used_ids: list[int] | None = None,
    progress: Progress | None = None,
    vocabulary: str | None = None,
    scaler: StandardScaler | None = None,
    fit_chosen: Callable[[int], KMeans] | None = None,
    init_centroids: np.ndarray | None = None,
) -> SegmentationModel:
    """Fit scaler and KMeans on X (original units) and return a named, measured model.

    `init_centroids` (k rows in the features' own units, e.g. the active version's) warm-start KMeans once from
    those centroids, placed in this fit's model space, instead of k-means++.

    Pure: `provenance` (version, data file, ...) goes into the model's info at construction, and
    `reference` (the active model, if any) lends its segment ids to the clusters that match its own.
    `demographics` optionally holds "age" (numbers) and "gender" (text) per row of X, for segment profiles.
    `sweep` also fits every k of K_RANGE, for the k chart (k='auto' always sweeps: it chooses from the sweep).
    `scaler` (already fitted) and `fit_chosen(k)` (the KMeans of the chosen k, labelling X) replace fitting on X:
    the Dask trainer fits both on every row and passes X as a sample (app/models/dask_training.py).
    """
    X = np.asarray(X, dtype=np.float64)
    specs = list(specs) if specs is not None else [FEATURES[name] for name in features]
    if [spec.name for spec in specs] != list(features):
        raise ValueError("specs must describe the features, in order")
    distinct = _distinct_customers(X, k)
    seen = to_model_space(X, specs)
    scaler = scaler if scaler is not None else StandardScaler().fit(seen)
    Z = scaler.transform(seen)

    def on_step(step: int, total: int, candidate: int) -> None:
        if progress is not None:
            progress({"stage": "k_sweep", "step": step, "of": total, "k": candidate})

    swept = sweep or k == "auto"
    selection = KSelection(scores=[], sample_size=0, fitted={})
    if swept:
        # More clusters than distinct customers cannot all be filled: the sweep stops at their number.
        ks = range(K_RANGE.start, min(K_RANGE.stop, distinct + 1))
        selection = select_k(Z, seed, ks, on_step=on_step)
        if not selection.scores:
            raise InvalidDataset(f"need at least {K_RANGE.start + 1} usable rows to compare cluster counts")
    chosen = best_k(selection.scores, len(X)) if k == "auto" else k
    if progress is not None:
        progress({"stage": "fitting", "k": chosen})
    if fit_chosen is not None:
        kmeans = fit_chosen(chosen)
    elif init_centroids is not None:
        warm = scaler.transform(to_model_space(np.asarray(init_centroids, dtype=np.float64), specs))
        kmeans = fit_kmeans(Z, chosen, seed, init=warm)
    else:
        kmeans = selection.fitted.get(chosen) or fit_kmeans(Z, chosen, seed)
    labels = kmeans.labels_
    info: dict[str, Any] = {
        **(provenance or {}),
        "algorithm": "KMeans",
        "init": "k-means++" if init_centroids is None else "warm start",
        "n_init": N_INIT if init_centroids is None else 1,
        "scaling": "StandardScaler",
        "n_clusters": chosen,
        "k_requested": str(k),
        "features": list(features),
        "feature_labels": {spec.name: spec.label for spec in specs},
        "feature_spec": [spec.to_dict() for spec in specs],
        "random_state": seed,
        "n_samples": len(X),
        "metrics": {"inertia": float(kmeans.inertia_), **clustering_metrics(Z, labels, seed)},
        "k_selection": [score.__dict__ for score in selection.scores],
        "k_selection_sample_size": selection.sample_size,
        "sweep": swept,
        "data_stats": {f: FeatureStats.of(X[:, i]).summary() for i, f in enumerate(features)},
        "map_sample": np.round(sample_rows(X, MAP_SAMPLE_SIZE, seed), 3).tolist(),
        **fitted_projection(Z, list(features)),  # the map's plane, from three features on (signed with the version)
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
    }
    used = sorted({*(used_ids or []), *(reference.info.get("segment_ids_used", []) if reference else [])})
    segments = _profiles(X, Z, scaler, kmeans, specs, demographics or {}, reference, used, vocabulary)
    info["segment_ids_used"] = sorted({*used, *(segment.segment_id for segment in segments)})
    model = SegmentationModel.from_estimators(scaler, kmeans, list(features), segments, info)
    # The drift reference needs the model's own flags on its training data, so it is added before anyone sees it.
    scores = model.score(X)
    info["drift_reference"] = drift_reference(
        X, list(features), atypical=scores.is_atypical, out_of_range=scores.any_out_of_range
    )
    info.update(explainability(model, X, seed=seed))  # segment rules and feature importance, signed with it
    return model


def _distinct_customers(X: np.ndarray, k: KChoice) -> int:
    """Distinct rows of X (counted up to the largest k); InvalidDataset when they are too few for k."""
    # Checked before fitting: KMeans would leave clusters empty and a metric fail with a message about labels.
    distinct = count_distinct(X, at_most=K_RANGE.stop - 1)
    if distinct < K_RANGE.start:
        noun = "customer" if distinct == 1 else "customers"
        raise InvalidDataset(f"only {distinct} distinct {noun}; at least {K_RANGE.start} are needed to form segments")
    if k != "auto" and distinct < k:
        raise InvalidDataset(f"only {distinct} distinct customers; k must be at most {distinct}")
    return distinct


def train(
    data_path: str | Path,
    *,
    output_dir: str | Path,
    k: KChoice = DEFAULT_K,
    features: list[str] | tuple[str, ...] = DEFAULT_FEATURES,
    specs: list[Feature] | None = None,
    seed: int = DEFAULT_SEED,
    sweep: bool = True,
    processed_dir: str | Path | None = None,
    activate: bool = False,
    signing_key: bytes | None = None,
    max_rows: int | None = None,
    auto_trained: bool = False,
    reason: str = "",
    key: str | None = None,
    progress: Progress | None = None,
    data_name: str | None = None,
    extra_info: Mapping[str, Any] | None = None,
    vocabulary: str | None = None,
    before_save: Callable[[], None] | None = None,
) -> TrainingResult:
    """Run the whole pipeline from a CSV to a new verified version; activate it when asked or when none is active."""
    features = [spec.name for spec in specs] if specs is not None else list(features)
    unknown = [f for f in features if f not in FEATURES]
    if specs is None and (unknown or len(set(features)) != len(features) or not features):
        raise InvalidDataset(f"features must be distinct names from: {', '.join(FEATURES)}; got {', '.join(features)}")
    if k != "auto" and not (K_RANGE.start <= k < K_RANGE.stop):
        raise InvalidDataset(f"k must be 'auto' or between {K_RANGE.start} and {K_RANGE.stop - 1}, got {k}")
    data_path, root = Path(data_path), Path(output_dir)
    ensure_writable(root)  # before any fitting: a read-only folder fails in one line, at once
    store = VersionStore(root, signing_key=signing_key)
    store.prepare()
    max_k = K_RANGE.stop - 1 if k == "auto" else k
    if progress is not None:
        progress({"stage": "reading"})
    table = load_customers(data_path)
    if max_rows is not None and table.n_records > max_rows:
        raise InvalidDataset(f"the file has {table.n_records} rows, more than the limit of {max_rows}")
    if progress is not None:
        progress({"stage": "cleaning", "rows_read": table.n_records})
    dataset = clean_customers(table, features=specs or features, min_rows=max_k + 1)
    processed_path = None
    if processed_dir is not None:
        processed_path = write_processed(dataset.frame, Path(processed_dir) / f"{data_path.stem}_processed.csv")
    trained_at = datetime.now(UTC)
    data_sha256 = sha256_file(data_path)
    provenance = {
        "version": new_version_id(trained_at, data_sha256),
        "trained_at": trained_at.isoformat(timespec="seconds"),
        # The name the user knows the data by: an upload's own file name, not the server's copy of it.
        "data_file": data_name or data_path.name,
        "data_sha256": data_sha256,
        "n_input_rows": dataset.n_input_rows,
        "dropped_rows": dataset.dropped,
        "auto_trained": auto_trained,
        **(extra_info or {}),
    }
    reference = _active_model(store)
    model = fit_model(
        dataset.frame[features].to_numpy(dtype=np.float64),
        features,
        specs=specs,
        k=k,
        seed=seed,
        sweep=sweep,
        demographics=_demographics(dataset.frame.drop(columns=features)),
        provenance=provenance,
        reference=reference,
        used_ids=store.used_segment_ids(),
        progress=progress,
        vocabulary=vocabulary,
    )
    if progress is not None:
        progress({"stage": "saving", "version": model.version})
    if before_save is not None:
        before_save()  # the last moment to refuse: nothing is written before it
    folder = save_model(model, root, signing_key=signing_key)
    why = reason or ("trained automatically on the bundled data" if auto_trained else "trained")
    if activate:
        store.activate(model.version, reason=why, key=key)
        activated = True
    else:
        activated = store.activate_if_none(model.version, reason=f"{why}; no version was active", key=key)
    return TrainingResult(model, dataset, folder, processed_path, activated)


def _active_model(store: VersionStore) -> SegmentationModel | None:
    """The active model, to keep its segment ids; None when there is none or it cannot be used."""
    active = store.active_version()
    if active is None:
        return None
    try:
        return store.load(active)
    except SegmentationError:
        return None
