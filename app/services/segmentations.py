"""Segmentations as the API and CLI show and change them: list, describe, create, delete, and their request bodies."""

import logging
import math
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.core.errors import InvalidRequest, ModelNotReady, SegmentationConflict, SegmentationError
from app.models.model import SegmentationModel
from app.models.segmentations.catalog import SegmentationCatalog
from app.models.segmentations.registries import Segmentations
from app.models.segmentations.spec import DEFAULT_NAME, SegmentationSpec
from app.models.versions.registry import ModelRegistry
from app.models.versions.store import VersionStore
from app.services.monitoring.prediction_log import PredictionLogWriter
from app.services.segmentation_history import forget_history
from app.services.training.store import JobStore

logger = logging.getLogger(__name__)

API = "/api/v1/segmentations"


def _served(registry: ModelRegistry) -> SegmentationModel | None:
    try:
        return registry.get()
    except ModelNotReady:
        return None


def describe(spec: SegmentationSpec, registry: ModelRegistry | None) -> dict[str, Any]:
    """A segmentation as the API shows it: its spec, the served version and its features, and where to go next."""
    if registry is not None:
        registry.refresh()  # a stat: what was activated a moment ago shows at once, not at the next poll
    model = _served(registry) if registry is not None else None
    name = spec.name
    base = f"{API}/{name}"
    return {
        **spec.to_dict(),
        "active_version": model.version if model is not None else None,
        "ready": model is not None,
        "reason": None if model is not None else (registry.reason if registry is not None else "not opened"),
        # What requests are checked against: the served version's features (the spec's until one is trained).
        "served_features": [feature.to_dict() for feature in (model.feature_specs if model else spec.features)],
        "segments": [{"segment_id": s.segment_id, "name": s.name} for s in model.segments] if model else [],
        "links": {
            "self": base,
            "predict": f"{base}/predict",
            "batch": f"{base}/predict/batch",
            "csv": f"{base}/predict/csv",
            "models": f"{base}/models",
            "clusters": f"{base}/clusters",
            "drift": f"{base}/monitoring/drift",
        },
        "example": {"features": example_features(model.feature_specs if model else spec.features, model)},
    }


def example_features(features: Any, model: SegmentationModel | None = None) -> dict[str, float]:
    """A request body's `features` for /docs and the list: the training data's mean, else the range's middle."""
    stats = model.info.get("data_stats", {}) if model is not None else {}
    example = {}
    for feature in features:
        if feature.name in stats:
            example[feature.name] = round(float(stats[feature.name]["mean"]), 2)
            continue
        low = feature.minimum if math.isfinite(feature.minimum) else 0.0
        high = feature.maximum if math.isfinite(feature.maximum) else low + 100.0
        # Halves first: the middle of (-1e308, 1e308) is 0, not an overflow to infinity.
        middle = low / 2 + high / 2
        example[feature.name] = round(middle, 2) if math.isfinite(middle) else 0.0
    return example


def list_segmentations(*, segmentations: Segmentations) -> dict[str, Any]:
    """Every segmentation, `default` first."""
    items = []
    for name in segmentations.names():
        try:
            items.append(describe(segmentations.spec(name), segmentations.registry(name)))
        except InvalidRequest:
            continue  # a spec file another version of the app wrote and this one cannot read
    return {"segmentations": items, "count": len(items)}


def get_segmentation(*, segmentations: Segmentations, name: str) -> dict[str, Any]:
    """One segmentation (UnknownSegmentation for none)."""
    spec = segmentations.require(name)
    return describe(spec, segmentations.registry(name))


def create_segmentation(*, segmentations: Segmentations, body: Mapping[str, Any]) -> dict[str, Any]:
    """Create a segmentation from a create request; it has no version until one is trained."""
    spec = SegmentationSpec.from_request(dict(body))
    if spec.name == DEFAULT_NAME:
        raise SegmentationConflict("the default segmentation exists already and cannot be created again")
    created = segmentations.catalog.create(spec)
    return describe(created, segmentations.registry(created.name))


def delete_segmentation(
    *,
    segmentations: Segmentations,
    name: str,
    force: bool = False,
    job_root: Path | None = None,
    session: Session | None = None,
    log_writer: PredictionLogWriter | None = None,
    results_dir: Path | None = None,
) -> None:
    """Delete a segmentation, its versions, its finished jobs and (with `session`) its history in the database; 409
    while it has an active version (unless forced) or a training job."""
    spec = segmentations.require(name)
    if spec.name == DEFAULT_NAME:
        raise SegmentationConflict("the default segmentation cannot be deleted")
    if job_root is not None and JobStore(job_root).running(segmentation=name):
        raise SegmentationConflict(f"a training job of segmentation {name!r} is running: delete it once the job ends")
    active = VersionStore(segmentations.catalog.folder(name)).active_version()
    if active is not None and not force:
        raise SegmentationConflict(
            f"segmentation {name!r} has an active version ({active}); delete it with ?force=true to remove it anyway"
        )
    if session is None:
        segmentations.catalog.delete(name)
    else:
        # The rows go in the transaction that removes the folder: when either cannot be done the segmentation stays
        # whole, and a new one of the same name never shows the old one's drift checks, predictions, runs or proposals.
        forget_history(
            session=session, name=name, then=lambda: segmentations.catalog.delete(name), results_dir=results_dir
        )
    segmentations.forget(name)
    if job_root is not None:
        JobStore(job_root).forget(segmentation=name)
    if session is not None and log_writer is not None:
        # Predictions answered before the registry forgot it may still be queued: written now, then removed too.
        log_writer.flush(timeout=2.0)
        try:
            forget_history(session=session, name=name, results_dir=results_dir)
        except SegmentationError as exc:
            logger.warning("segmentation %s deleted, but predictions logged meanwhile remain: %s", name, exc.message)


def delete_in_catalog(
    *,
    catalog: SegmentationCatalog,
    name: str,
    force: bool = False,
    database: Callable[[], AbstractContextManager[Session]] | None = None,
    results_dir: Path | None = None,
) -> None:
    """The CLI's delete: the same rules on a models folder no server holds open, and its history through a session of
    `database`, opened only once the rules allow the delete."""
    catalog.get(name)
    if name == DEFAULT_NAME:
        raise SegmentationConflict("the default segmentation cannot be deleted")
    active = VersionStore(catalog.folder(name)).active_version()
    if active is not None and not force:
        raise SegmentationConflict(f"segmentation {name!r} has an active version ({active}); use --force")
    if database is None:
        catalog.delete(name)
        return
    with database() as session:
        forget_history(session=session, name=name, then=lambda: catalog.delete(name), results_dir=results_dir)


# Beyond this many training standard deviations a value is not a customer but a typo or an attack: distances would
# overflow to infinity (1e200 squared) and every answer would be meaningless.
MAX_STANDARD_DEVIATIONS = 1e6


def feature_values(model: SegmentationModel, features: Mapping[str, float]) -> dict[str, float]:
    """A body's `features` checked against the served version: unknown, missing or out-of-range ones are a 422."""
    specs = model.feature_specs
    # The common case first, in one pass: every feature given, nothing else, each within its range.
    if len(features) == len(specs) and all(
        spec.minimum <= features.get(spec.name, math.nan) <= spec.maximum for spec in specs
    ):
        values = [features[spec.name] for spec in specs]
        _check_scale(model, values)
        return dict(features)
    known = {spec.name for spec in specs}
    unknown = [name for name in features if name not in known]
    if unknown:
        raise InvalidRequest(
            f"unknown feature {unknown[0][:40]!r}: this segmentation's features are {', '.join(sorted(known))}"
        )
    missing = [spec.name for spec in specs if spec.name not in features]
    if missing:
        raise InvalidRequest(
            f"missing feature(s): {', '.join(missing)} (this segmentation needs {', '.join(s.name for s in specs)})"
        )
    for spec in specs:
        value = features[spec.name]
        if not spec.minimum <= value <= spec.maximum:
            raise InvalidRequest(f"{spec.name} is {value:g}, outside its range: {spec.range_text()}")
    _check_scale(model, [features[spec.name] for spec in specs])
    return dict(features)


def _check_scale(model: SegmentationModel, values: list[float]) -> None:
    """InvalidRequest for a value so far from the training data that no distance to it is a finite number."""
    for spec, z in zip(model.feature_specs, model.standardized_one(values), strict=True):
        if not abs(z) <= MAX_STANDARD_DEVIATIONS:
            low, high = model.training_range
            index = model.features.index(spec.name)
            raise InvalidRequest(
                f"{spec.name} is {values[index]:g}, too far from anything this model was trained on "
                f"(its training values run from {low[index]:g} to {high[index]:g})"
            )
