"""A candidate against the version it would replace, on the same recent customers: the migration matrix with names,
agreement, both silhouettes (in the active version's space), segments grown, shrunk, lost or new, and whether it
may be promoted without an admin."""

from typing import Any

import numpy as np

from app.models.clustering import silhouette
from app.models.model import SegmentationModel
from app.models.versions.registry import ModelRegistry
from app.services.challenger.report import agreement
from app.services.lifecycle import compare

# A candidate may be promoted automatically only when its silhouette is not worse than this (the rule).
SILHOUETTE_TOLERANCE = 0.02
# A segment grew or shrank when its share of the recent customers moved by at least this.
SHARE_CHANGE = 0.02


def _silhouette(Z: np.ndarray, positions: np.ndarray, seed: int) -> float | None:
    """The silhouette of a labelling of Z (None when Z falls in one segment)."""
    if len(np.unique(positions)) < 2:
        return None
    return silhouette(Z, positions, seed)


def silhouettes(
    base: SegmentationModel, X: np.ndarray, old: np.ndarray, new: np.ndarray, seed: int
) -> tuple[float | None, float | None]:
    """Both versions' silhouettes of the same customers X in ONE space, the active version's model space: each
    version's own scaling would measure distances differently, and the rule compares the two numbers."""
    Z = (base.to_model_space(X) - base.mean) / base.scale
    return _silhouette(Z, old, seed), _silhouette(Z, new, seed)


def _shares(model: SegmentationModel, positions: np.ndarray) -> dict[int, float]:
    counts = np.bincount(positions, minlength=model.n_clusters) / max(len(positions), 1)
    return {segment.segment_id: float(counts[i]) for i, segment in enumerate(model.segments)}


def segment_changes(
    base: SegmentationModel, candidate: SegmentationModel, old: np.ndarray, new: np.ndarray
) -> list[dict[str, Any]]:
    """Each segment's share of the same customers under both versions (a segment id names one segment in both)."""
    before, after = _shares(base, old), _shares(candidate, new)
    names = {s.segment_id: s.name for s in base.segments} | {s.segment_id: s.name for s in candidate.segments}
    changes = []
    for segment_id in sorted(before.keys() | after.keys()):
        old_share, new_share = before.get(segment_id), after.get(segment_id)
        if old_share is None:
            change = "new"
        elif new_share is None:
            change = "lost"
        elif new_share - old_share >= SHARE_CHANGE:
            change = "grown"
        elif old_share - new_share >= SHARE_CHANGE:
            change = "shrunk"
        else:
            change = "steady"
        changes.append(
            {
                "segment_id": segment_id,
                "name": names[segment_id],
                "old_share": old_share,
                "new_share": new_share,
                "change": change,
            }
        )
    return changes


def promotion_failures(summary: dict[str, Any], *, min_agreement: float) -> list[str]:
    """Why a candidate may not be promoted without an admin; empty when every rule of AUTO_PROMOTE holds."""
    failures = []
    agreed = summary.get("agreement")
    if agreed is None or agreed < min_agreement:
        shown = "unknown" if agreed is None else f"{agreed:.3f}"
        failures.append(f"agreement {shown} is below {min_agreement:g}")
    old, new = summary.get("silhouette_active"), summary.get("silhouette_candidate")
    if old is None or new is None or new < old - SILHOUETTE_TOLERANCE:
        failures.append(f"silhouette {new} is worse than {old} by more than {SILHOUETTE_TOLERANCE:g}")
    if summary.get("lost"):
        failures.append(f"segment(s) lost: {', '.join(summary['lost'])}")
    return failures


def compare_candidate(
    *,
    registry: ModelRegistry,
    base: SegmentationModel,
    candidate: SegmentationModel,
    X: np.ndarray,
    seed: int,
    min_agreement: float,
) -> dict[str, Any]:
    """The comparison stored with a proposal: the versions' comparison (as /versions/compare gives it), and on the
    recent customers X the migration matrix, agreement, silhouettes and segment changes, with a summary."""
    old, new = base.labels(X), candidate.labels(X)
    old_ids = [base.segments[p].segment_id for p in old.tolist()]
    new_ids = [candidate.segments[p].segment_id for p in new.tolist()]
    recent = agreement(base, candidate, old_ids, new_ids)
    changes = segment_changes(base, candidate, old, new)
    silhouette_active, silhouette_candidate = silhouettes(base, X, old, new, seed)
    summary = {
        "customers": len(X),
        "agreement": recent["agreement"],
        "silhouette_active": silhouette_active,
        "silhouette_candidate": silhouette_candidate,
        **{kind: [c["name"] for c in changes if c["change"] == kind] for kind in ("grown", "shrunk", "lost", "new")},
    }
    failures = promotion_failures(summary, min_agreement=min_agreement)
    summary["promotable"] = not failures
    summary["not_promotable_because"] = failures
    return {
        "summary": summary,
        "recent_customers": recent,
        "segment_changes": changes,
        "versions": compare(registry=registry, version=candidate.version, with_version=base.version),
    }
