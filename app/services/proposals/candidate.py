"""A proposal's candidate, trained inside its training job's process (app/services/training/runner.py).

The candidate learns from the recent logged inputs of its segmentation (each customer once, its latest prediction;
for an RFM segmentation the log holds the customers' RFM features, which is what it clusters), optionally mixed with
the stored sample of the base version's training customers. KMeans starts from the base version's centroids
(`init=` those centroids in the candidate's model space, `n_init=1`) with the same k, and the segments it keeps are
named as before by segment identity (app/models/naming/identity.py). The version is saved, never activated, unless
AUTO_PROMOTE and the comparison allows it.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.errors import SegmentationError, VersionConflict
from app.db.session import create_db_engine, session_factory
from app.db.tables import RetrainProposal
from app.models.model import SegmentationModel
from app.models.segmentations.catalog import SegmentationCatalog
from app.models.training import Progress, fit_model
from app.models.versions.artifacts import save_model
from app.models.versions.registry import ModelRegistry
from app.models.versions.store import VersionStore, new_version_id
from app.services.monitoring.log_reader import LogFilter, read_all
from app.services.proposals import records
from app.services.proposals.activation import activate_over_base
from app.services.proposals.compare import compare_candidate
from app.services.proposals.logged import MIN_CUSTOMERS, WINDOW, too_few_customers

logger = logging.getLogger(__name__)

# How much of the recent window of logged inputs (logged.WINDOW) is read.
MAX_ROWS_READ = 200_000
MAX_CUSTOMERS = 50_000
SEED = 42
# What the base version's info passes on to its candidate: the segmentation it belongs to and how it reads data.
_INHERITED = ("segmentation", "kind", "rfm_options")


@dataclass
class Candidate:
    """What the job reports: the candidate version, and whether it was promoted."""

    model: SegmentationModel
    activated: bool


def logged_customers(
    session: Session, *, segmentation: str, features: list[str], since: datetime, limit: int = MAX_CUSTOMERS
) -> np.ndarray:
    """The segmentation's logged inputs since `since`, newest first, each customer id once (its latest row; rows
    without an id count as they are), as rows of `features`; rows missing a feature or not finite are left out."""
    where = LogFilter(segmentation=segmentation, since=since)
    rows = read_all(session, columns=("customer_id", "inputs"), where=where, limit=MAX_ROWS_READ)
    seen: set[str] = set()
    kept: list[list[float]] = []
    for customer_id, inputs in rows:
        if customer_id is not None:
            if customer_id in seen:
                continue
            seen.add(customer_id)
        values = [inputs.get(name) for name in features]
        if any(not isinstance(value, int | float) for value in values):
            continue
        kept.append([float(value) for value in values])
        if len(kept) >= limit:
            break
    X = np.asarray(kept, dtype=np.float64).reshape(-1, len(features))
    return X[np.isfinite(X).all(axis=1)]


def _training_sample(base: SegmentationModel) -> np.ndarray:
    """The stored sample of the base version's training customers (raw training data is not kept)."""
    sample = base.info.get("map_sample") or []
    return np.asarray(sample, dtype=np.float64).reshape(-1, len(base.features))


def _fit(
    *,
    base: SegmentationModel,
    store: VersionStore,
    X: np.ndarray,
    provenance: dict[str, Any],
    progress: Progress | None,
) -> SegmentationModel:
    """KMeans warm-started from the base version's centroids, same k, named by segment identity against it."""
    centroids = np.array([[segment.centroid[f] for f in base.features] for segment in base.segments])
    return fit_model(
        X,
        list(base.features),
        specs=list(base.feature_specs),
        k=base.n_clusters,
        seed=SEED,
        sweep=False,
        provenance=provenance,
        reference=base,
        used_ids=store.used_segment_ids(),
        progress=progress,
        vocabulary="rfm" if base.info.get("kind") == "rfm" else None,
        init_centroids=centroids,
    )


def _still_training(session: Session, row: RetrainProposal) -> None:
    """VersionConflict when the proposal left `training` (dismissed) while its candidate trained: nothing is saved."""
    session.refresh(row)
    if row.state != records.TRAINING:
        raise VersionConflict(f"proposal {row.id} was {row.state} while its candidate trained; no version was saved")


def _build(
    settings: Settings, session: Session, row: RetrainProposal, progress: Progress | None, now: datetime
) -> tuple[SegmentationModel, dict[str, Any], VersionStore]:
    """Train, save and compare the candidate. Returns it, the comparison and its versions folder."""
    folder = SegmentationCatalog(settings.model_dir).folder(row.segmentation)
    store = VersionStore(folder, signing_key=settings.signing_key)
    store.prepare()
    base = store.load(row.base_version)
    since = now - WINDOW
    if progress is not None:
        progress({"stage": "reading", "source": "prediction log"})
    X = logged_customers(session, segmentation=row.segmentation, features=list(base.features), since=since)
    logged = len(X)
    if logged < MIN_CUSTOMERS:
        raise too_few_customers(logged, segmentation=row.segmentation, since=since)
    if row.mix_training:
        X = np.vstack([X, _training_sample(base)])
    digest = hashlib.sha256(np.ascontiguousarray(X).tobytes()).hexdigest()
    described = f"prediction log: {logged} customers since {since:%Y-%m-%d %H:%M} UTC"
    provenance = {
        **{key: base.info[key] for key in _INHERITED if key in base.info},
        "version": new_version_id(now, digest),
        "trained_at": now.isoformat(timespec="seconds"),
        "data_file": described + (" + the training sample" if row.mix_training else ""),
        "data_sha256": digest,
        "n_input_rows": len(X),
        "dropped_rows": {},
        "auto_trained": False,
        "proposal": row.id,
        "warm_start_from": base.version,
    }
    _still_training(session, row)
    model = _fit(base=base, store=store, X=X, provenance=provenance, progress=progress)
    _still_training(session, row)
    if progress is not None:
        progress({"stage": "saving", "version": model.version})
    save_model(model, folder, signing_key=settings.signing_key)
    comparison = compare_candidate(
        registry=ModelRegistry(store=store),
        base=base,
        candidate=model,
        X=X[:logged],
        seed=SEED,
        min_agreement=settings.auto_promote_min_agreement,
    )
    return model, comparison, store


def _promote(
    session: Session, *, row: RetrainProposal, model: SegmentationModel, store: VersionStore, stored: dict[str, Any]
) -> bool:
    """AUTO_PROMOTE: the proposal is accepted first (committed, so a dismissal cannot come after), then the candidate
    is activated if its base is still active; when it is not, the proposal goes back to ready with why."""
    records.move(
        session,
        proposal_id=row.id,
        from_states=(records.TRAINING,),
        state=records.ACCEPTED,
        decided_at=datetime.now(UTC),
        decided_by="AUTO_PROMOTE",
        **stored,
    )
    session.commit()
    try:
        activate_over_base(
            store=store,
            version=model.version,
            base_version=row.base_version,
            reason=f"auto-promoted retraining proposal {row.id}: {row.reason}",
            key=None,
        )
    except Exception as exc:  # whatever it was, the proposal must not stay accepted with nothing activated
        known = isinstance(exc, SegmentationError)
        why = exc.message if known else "the candidate could not be activated; see the training job's log"
        logger.warning(
            "proposal %s: candidate %s not auto-promoted: %s", row.id, model.version, why, exc_info=not known
        )
        records.unaccept(session, proposal_id=row.id, error=f"not auto-promoted: {why}")
        return False
    return True


def train_candidate(
    *, settings: Settings, proposal_id: str, progress: Progress | None = None, now: datetime | None = None
) -> Candidate:
    """Train a proposal's candidate and store its comparison (state ready, or accepted when auto-promoted); a
    failure marks the proposal failed and is raised for the job to report, and so is a dismissal while it trained
    (then no version is saved, and none is ever activated)."""
    engine = create_db_engine(settings.database_url.get_secret_value())
    try:
        with session_factory(engine)() as session:
            row = records.get(session, proposal_id=proposal_id)
            try:
                model, comparison, store = _build(settings, session, row, progress, now or datetime.now(UTC))
            except Exception as exc:
                session.rollback()
                known = isinstance(exc, SegmentationError)
                why = exc.message if known else "the candidate could not be trained; see the training job's log"
                records.fail(session, proposal_id=proposal_id, error=why)
                raise
            stored = {"candidate_version": model.version, "comparison": comparison}
            activated = False
            if settings.auto_promote and comparison["summary"]["promotable"]:
                activated = _promote(session, row=row, model=model, store=store, stored=stored)
            else:
                # A dismissal since the last look raises VersionConflict: the job reports it, nothing is activated.
                move = {"from_states": (records.TRAINING,), "state": records.READY}
                records.move(session, proposal_id=proposal_id, **move, **stored)
                session.commit()
    finally:
        engine.dispose()
    logger.info("proposal %s: candidate %s %s", proposal_id, model.version, "activated" if activated else "ready")
    return Candidate(model, activated)
