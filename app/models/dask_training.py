"""Training on Dask: a CSV or Parquet dataset of any size to a normal, signed version.

The scaler and the centroids come from every row (app/models/dask_kmeans.py); what needs the rows themselves,
as the local trainer does it (the k sweep, silhouette, names, percentiles, drift reference, explanations), runs on
a uniform sample through fit_model. Sizes, shares, inertia, ranges and the segments' means, spreads and ranges are
then those of every row.
"""

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from app.core.errors import InvalidDataset
from app.models.clustering import DEFAULT_K, DEFAULT_SEED, K_RANGE
from app.models.dask_kmeans import (
    DEFAULT_MAX_ITER,
    DEFAULT_TOL,
    LloydResult,
    Summary,
    kmeans_plusplus_seeds,
    lloyd,
    scaler_from_moments,
    summarise,
)
from app.models.dask_source import Reader, locate_unreadable, open_dataset
from app.models.dataset import CleanedDataset, refuse_misread_rows, too_few_rows
from app.models.features import DEFAULT_FEATURES, FEATURES, Feature, to_model_space
from app.models.model import FeatureStats, SegmentationModel
from app.models.training import KChoice, Progress, TrainingResult, _active_model, fit_model
from app.models.versions.artifacts import ensure_writable, save_model
from app.models.versions.store import VersionStore, new_version_id
from app.utils.csv_rows import UnreadableRows
from app.utils.hashing import sha256_file

# Rows sampled for what runs in memory: the k sweep and silhouette sample further (50,000 and 5,000 rows).
SAMPLE_SIZE = 200_000


def _check_request(features: list[str], specs: list[Feature] | None, k: KChoice) -> None:
    """train()'s checks of the features and k, with its messages."""
    unknown = [f for f in features if f not in FEATURES]
    if specs is None and (unknown or len(set(features)) != len(features) or not features):
        raise InvalidDataset(f"features must be distinct names from: {', '.join(FEATURES)}; got {', '.join(features)}")
    if k != "auto" and not (K_RANGE.start <= k < K_RANGE.stop):
        raise InvalidDataset(f"k must be 'auto' or between {K_RANGE.start} and {K_RANGE.stop - 1}, got {k}")


def _unreadable(exc: Exception, path: Path, reader: Reader, parts: list[Any]) -> Exception:
    """A partition that could not be read, as the local trainer words it (InvalidDataset); anything else as it is."""
    import pyarrow as pa

    if isinstance(exc, UnreadableRows):  # a CSV block, refused by the local trainer's reader: said for the file
        return InvalidDataset((locate_unreadable(reader, parts) or exc).problem)
    if not (reader.kind == "parquet" and isinstance(exc, pa.ArrowException)):
        return exc
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InvalidDataset(f"{path} is not a valid Parquet file: {first_line}")


def _check_rows(summary: Summary, *, header_fields: int, min_rows: int, max_rows: int | None) -> None:
    """clean_customers' and train()'s refusals, once the whole dataset has been counted."""
    if summary.n_input == 0:
        raise InvalidDataset("the file has a header but no data rows")
    if max_rows is not None and summary.n_input > max_rows:
        raise InvalidDataset(f"the file has {summary.n_input} rows, more than the limit of {max_rows}")
    refuse_misread_rows(summary.malformed(), n_records=summary.n_input, header_fields=header_fields)
    if summary.n_kept < min_rows:
        raise too_few_rows(summary.n_kept, n_input=summary.n_input, min_rows=min_rows, dropped=summary.dropped)


def _whole(model: SegmentationModel, summary: Summary, fitted: LloydResult, features: list[str]) -> SegmentationModel:
    """The sample's model with every row's sizes, shares, inertia, ranges and segment statistics."""
    final = fitted.final
    n = int(final.counts.sum())
    segments = []
    for segment in model.segments:
        c = segment.kmeans_label
        moments = final.raw[c]
        stats = {
            name: replace(
                segment.stats[name],
                mean=float(moments.mean[i]),
                std=float(np.sqrt(moments.var[i])),
                min=float(final.minimum[c, i]),
                max=float(final.maximum[c, i]),
            )
            for i, name in enumerate(features)
        }
        segments.append(replace(segment, size=int(final.counts[c]), share=float(final.counts[c] / n), stats=stats))
    sample_size = len(summary.X)
    info: dict[str, Any] = {
        **model.info,
        "engine": "dask",
        "init": "k-means++ on a uniform sample",
        "n_init": 1,
        "n_iter": fitted.n_iter,
        "n_samples": n,
        "sample_size": sample_size,
        "metrics": {**model.info["metrics"], "inertia": float(final.inertia)},
        "data_stats": {
            name: FeatureStats(
                float(summary.raw.mean[i]),
                float(np.sqrt(summary.raw.var[i])),
                float(summary.minimum[i]),
                float(summary.maximum[i]),
            ).summary()
            for i, name in enumerate(features)
        },
    }
    return SegmentationModel.from_estimators(model.scaler, model.kmeans, features, segments, info)


def train_dask(
    data_path: str | Path,
    *,
    client: Any,
    output_dir: str | Path,
    k: KChoice = DEFAULT_K,
    features: list[str] | tuple[str, ...] = DEFAULT_FEATURES,
    specs: list[Feature] | None = None,
    seed: int = DEFAULT_SEED,
    sweep: bool = True,
    activate: bool = False,
    signing_key: bytes | None = None,
    max_rows: int | None = None,
    auto_trained: bool = False,
    reason: str = "",
    key: str | None = None,
    progress: Progress | None = None,
    data_name: str | None = None,
    extra_info: dict[str, Any] | None = None,
    vocabulary: str | None = None,
    before_save: Callable[[], None] | None = None,
    sample_size: int = SAMPLE_SIZE,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    processed_dir: str | Path | None = None,  # accepted for train()'s callers: no cleaned copy of a large dataset
) -> TrainingResult:
    """train()'s pipeline on a Dask cluster (`client`), from a CSV or Parquet file of any size."""
    features = [spec.name for spec in specs] if specs is not None else list(features)
    _check_request(features, specs, k)
    chosen_specs = list(specs) if specs is not None else [FEATURES[name] for name in features]
    data_path, root = Path(data_path), Path(output_dir)
    ensure_writable(root)
    store = VersionStore(root, signing_key=signing_key)
    store.prepare()
    if progress is not None:
        progress({"stage": "reading"})
    reader, parts = open_dataset(data_path, chosen_specs, client=client)
    try:
        summary = summarise(client, reader, parts, sample_size=sample_size, seed=seed)
    except Exception as exc:  # raised in a worker, by the CSV reader or pyarrow: the later passes read the same parts
        raise _unreadable(exc, data_path, reader, parts) from None
    _check_rows(
        summary,
        header_fields=len(reader.columns),
        min_rows=(K_RANGE.stop - 1 if k == "auto" else k) + 1,
        max_rows=max_rows,
    )
    if progress is not None:
        progress({"stage": "cleaning", "rows_read": summary.n_input})
    sample = summary.X
    scaler = scaler_from_moments(summary.seen, to_model_space(sample, chosen_specs))
    sample_Z = scaler.transform(to_model_space(sample, chosen_specs))
    # KMeans scales its tolerance by the mean variance of the data it clusters: here every row, standardized.
    mean_variance = float(np.mean(summary.seen.var / scaler.scale_**2))
    fitted: dict[str, LloydResult] = {}

    def fit_chosen(chosen: int) -> Any:
        from sklearn.cluster import KMeans

        def on_iteration(n_iter: int, shift: float) -> None:
            if progress is not None:
                progress({"stage": "fitting", "k": chosen, "iteration": n_iter})

        result = lloyd(
            client,
            reader,
            parts,
            mean=scaler.mean_,
            scale=scaler.scale_,
            init=kmeans_plusplus_seeds(sample_Z, chosen, seed),
            tol=tol,
            max_iter=max_iter,
            mean_variance=mean_variance,
            on_iteration=on_iteration,
        )
        fitted["result"] = result
        # A real KMeans (pickled with the version, as the local trainer's) holding the centres of every row.
        kmeans = KMeans(n_clusters=chosen, init=result.centers, n_init=1, max_iter=1).fit(sample_Z)
        kmeans.cluster_centers_ = result.centers
        kmeans.labels_ = kmeans.predict(sample_Z)
        kmeans.inertia_ = result.final.inertia
        kmeans.n_iter_ = result.n_iter
        return kmeans

    trained_at = datetime.now(UTC)
    data_sha256 = sha256_file(data_path)
    provenance = {
        "version": new_version_id(trained_at, data_sha256),
        "trained_at": trained_at.isoformat(timespec="seconds"),
        "data_file": data_name or data_path.name,
        "data_sha256": data_sha256,
        "n_input_rows": summary.n_input,
        "dropped_rows": summary.dropped,
        "auto_trained": auto_trained,
        **(extra_info or {}),
    }
    sampled = fit_model(
        sample,
        features,
        specs=chosen_specs,
        k=k,
        seed=seed,
        sweep=sweep,
        demographics=summary.demographics,
        provenance=provenance,
        reference=_active_model(store),
        used_ids=store.used_segment_ids(),
        progress=progress,
        vocabulary=vocabulary,
        scaler=scaler,
        fit_chosen=fit_chosen,
    )
    model = _whole(sampled, summary, fitted["result"], features)
    if progress is not None:
        progress({"stage": "saving", "version": model.version})
    if before_save is not None:
        before_save()
    folder = save_model(model, root, signing_key=signing_key)
    why = reason or ("trained automatically on the bundled data" if auto_trained else "trained")
    if activate:
        store.activate(model.version, reason=why, key=key)
        activated = True
    else:
        activated = store.activate_if_none(model.version, reason=f"{why}; no version was active", key=key)
    # No cleaned copy of a dataset of any size: the counts of what was read and dropped.
    dataset = CleanedDataset(pd.DataFrame(columns=features), n_input_rows=summary.n_input, dropped=summary.dropped)
    return TrainingResult(model, dataset, folder, None, activated)
