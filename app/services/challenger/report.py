"""The challenger report: how the champion's and the challenger's segments agree on live traffic, and the arms' sizes.

Shadow mode scores every logged request with both versions, so the log holds pairs: the migration matrix between the
versions (the same computation as comparing two versions), agreement per champion segment (the share the
challenger puts in the segment with the same id, which names the same segment across versions), Cohen's kappa and
the adjusted Rand index. Split mode has no pairs; both modes count requests per arm (this run's) and customers per
arm (each in the arm the version last assigned them, in any of its runs: the arm their outcomes count in, as
app/services/experiments/outcomes.py takes it).
"""

import warnings
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.core.errors import DatabaseUnavailable, VersionConflict
from app.db.errors import db_error_reason
from app.db.tables import ChallengerAssignment
from app.models.versions import challenger as challengers
from app.models.versions.registry import ModelRegistry
from app.services.lifecycle import migration
from app.services.monitoring.log_reader import LogFilter, count_by, read_all

DEFAULT_WINDOW = 10_000
MAX_WINDOW = 200_000


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def agreement(champion, challenger, old_ids: list[int], new_ids: list[int]) -> dict[str, Any]:
    """The migration matrix of paired segment ids, agreement per champion segment, kappa and adjusted Rand index."""
    from sklearn.metrics import adjusted_rand_score, cohen_kappa_score  # the report only: serving never needs them

    old_at = {segment.segment_id: position for position, segment in enumerate(champion.segments)}
    new_at = {segment.segment_id: position for position, segment in enumerate(challenger.segments)}
    pairs = [(old_at[o], new_at[n]) for o, n in zip(old_ids, new_ids, strict=True) if o in old_at and n in new_at]
    old = np.array([p[0] for p in pairs], dtype=int)
    new = np.array([p[1] for p in pairs], dtype=int)
    result = migration(baseline=champion, candidate=challenger, old=old, new=new)
    matrix = np.array(result["migration_matrix"], dtype=int).reshape(champion.n_clusters, challenger.n_clusters)
    per_segment = []
    for position, segment in enumerate(champion.segments):
        total = int(matrix[position].sum())
        same = new_at.get(segment.segment_id)
        agreed = int(matrix[position, same]) if same is not None else 0
        per_segment.append(
            {
                "segment_id": segment.segment_id,
                "name": segment.name,
                "n": total,
                "agreed": agreed,
                "agreement": agreed / total if total else None,
            }
        )
    old_labels = [champion.segments[p].segment_id for p in old.tolist()]
    new_labels = [challenger.segments[p].segment_id for p in new.tolist()]
    paired = len(pairs)
    kappa = ari = None
    if paired:
        with warnings.catch_warnings():
            # One label only (a tiny window): kappa is undefined, reported as null rather than warned about.
            warnings.simplefilter("ignore")
            kappa, ari = (
                _finite(cohen_kappa_score(old_labels, new_labels)),
                _finite(adjusted_rand_score(old_labels, new_labels)),
            )
    return result | {
        "n_paired": paired,
        "agreement": sum(row["agreed"] for row in per_segment) / paired if paired else None,
        "agreement_by_segment": per_segment,
        "cohen_kappa": kappa,
        "adjusted_rand_index": ari,
    }


def report(*, session: Session, registry: ModelRegistry, segmentation: str, window: int = DEFAULT_WINDOW) -> dict:
    """The running challenger's report over the last `window` shadow pairs (409 when no challenger runs)."""
    setting = challengers.read_setting(registry.store.root)
    if setting is None:
        raise VersionConflict("no challenger is running for this segmentation: set one with PUT /api/v1/challenger")
    champion = registry.get()
    challenger = registry.get(setting["version"])
    try:
        since = datetime.fromisoformat(str(setting.get("set_at")))
    except ValueError:
        since = datetime.min
    try:
        pairs = read_all(
            session,
            columns=("segment_id", "challenger_segment_id"),
            where=LogFilter(
                segmentation=segmentation,
                model_versions=(champion.version,),
                challenger_version=challenger.version,
                paired=True,
            ),
            limit=window,
        )
        versions = (champion.version, challenger.version)
        served = LogFilter(segmentation=segmentation, model_versions=versions, since=since, with_arm=True)
        per_arm = count_by(session, "arm", where=served).items()
        table = ChallengerAssignment
        # One row per customer and run: each customer once, in the arm of their newest assignment (as outcomes take).
        ranked = (
            select(
                table.arm,
                func.row_number()
                .over(partition_by=table.customer_id, order_by=(table.first_seen.desc(), table.id.desc()))
                .label("rank"),
            )
            .where(table.segmentation == segmentation, table.challenger_version == challenger.version)
            .subquery()
        )
        assigned = session.execute(
            select(ranked.c.arm, func.count()).where(ranked.c.rank == 1).group_by(ranked.c.arm)
        ).all()
    except SQLAlchemyError as exc:
        said = "the prediction log database cannot be read ({}); predictions are still served"
        raise DatabaseUnavailable(
            said.format(type(exc).__name__), local_message=said.format(db_error_reason(exc))
        ) from None
    arms = (challengers.CHAMPION, challengers.CHALLENGER)
    return {
        "segmentation": segmentation,
        "champion": champion.version,
        "challenger": challenger.version,
        "mode": setting["mode"],
        "share": setting["share"],
        "set_at": setting.get("set_at"),
        "window": window,
        "requests_by_arm": {arm: 0 for arm in arms} | {arm: int(n) for arm, n in per_arm},
        "assignments_by_arm": {arm: 0 for arm in arms} | {arm: int(n) for arm, n in assigned},
        **agreement(champion, challenger, [row[0] for row in pairs], [row[1] for row in pairs]),
    }
