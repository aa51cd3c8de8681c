"""Model versions as the API and CLI show and change them: list, describe, activate, roll back, delete.

Each change has one function that applies the rules (the reason's length cap) to the versions folder: the CLI
calls it directly, and the API's function calls it and then updates this worker's registry at once. A CLI
process serves nothing, so it has no registry to update: the servers pick the change up from the pointer.
"""

import math
from typing import Any

import numpy as np

from app.core.errors import UnknownModelVersion, VersionConflict
from app.models.model import SegmentationModel
from app.models.versions import challenger as challengers
from app.models.versions.labels import clean_label, read_labels, write_label
from app.models.versions.registry import ModelRegistry
from app.models.versions.segment_edits import read_edits
from app.models.versions.store import VersionStore

MAX_REASON_LENGTH = 200

# Which way each quality metric improves.
HIGHER_IS_BETTER = {"silhouette": True, "davies_bouldin": False, "calinski_harabasz": True, "inertia": False}


def _summary(entry: dict[str, Any], labels: dict[str, dict[str, Any]]) -> dict[str, Any]:
    info = entry["info"]
    return {
        "version": entry["version"],
        "created": info.get("trained_at"),
        "n_samples": info.get("n_samples"),
        "k": info.get("n_clusters"),
        "features": list(info.get("features", [])),
        "metrics": info.get("metrics"),
        "k_selection": info.get("k_selection", []),
        "active": entry["active"],
        "usable": entry["usable"],
        "reason": entry["reason"],
        "auto_trained": bool(info.get("auto_trained")),
        "data_file": info.get("data_file"),
        "label": labels.get(entry["version"], {}).get("label"),
    }


def _segments(info: dict[str, Any], edits: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """A version's segments as served: the team's name and description (kept beside the version) over the generated."""
    return [
        {
            "segment_id": segment["segment_id"],
            "name": segment["name"],
            "size": segment["size"],
            "share": segment["share"],
            "centroid": segment["centroid"],
            "levels": segment["levels"],
            "description": segment["description"],
        }
        | {key: value for key, value in edits.get(segment["segment_id"], {}).items() if key in ("name", "description")}
        for segment in info.get("segments", [])
    ]


def list_versions(*, registry: ModelRegistry) -> dict[str, Any]:
    """Every version, newest first, with the active one named."""
    entries = registry.versions()
    labels = read_labels(registry.store.root)
    return {
        "active": next((e["version"] for e in entries if e["active"]), None),
        "versions": [_summary(entry, labels) for entry in entries],
    }


def version_detail(*, registry: ModelRegistry, version: str) -> dict[str, Any]:
    """One version with its segments (404 when unknown)."""
    registry.store.folder(version)
    entry = next((e for e in registry.versions() if e["version"] == version), None)
    if entry is None:  # deleted between the two looks
        raise UnknownModelVersion(f"no model version {version[:64]!r}")
    edits = read_edits(registry.store.root).segments
    return _summary(entry, read_labels(registry.store.root)) | {"segments": _segments(entry["info"], edits)}


def activate_in_store(
    *, store: VersionStore, version: str, reason: str, key: str | None, challenger_event: str = "cleared"
) -> dict[str, Any]:
    """Point the versions folder at a version; every server swaps it in at its next poll (the CLI's path).

    A challenger equal to the new champion is cleared, recorded as `challenger_event` (a promotion says "promoted").
    """
    store.folder(version)  # 404 at once, without waiting for the lock
    with store.changing():
        return activate_locked(store=store, version=version, reason=reason, key=key, challenger_event=challenger_event)


def activate_locked(
    *, store: VersionStore, version: str, reason: str, key: str | None, challenger_event: str = "cleared"
) -> dict[str, Any]:
    """`activate_in_store` for a caller holding `store.changing()`, so it can check more under the same lock."""
    entry = store.activate_locked(version, reason=reason[:MAX_REASON_LENGTH], key=key)
    # Under the same lock as the switch: with the lock released in between, another worker could see the challenger
    # equal to the champion, and stop it (recorded as "stopped" after it became the champion).
    _clear_equal_challenger_locked(store=store, version=entry["to"], key=key, event=challenger_event, reason=reason)
    return entry


def _clear_equal_challenger_locked(
    *, store: VersionStore, version: str, key: str | None, event: str = "cleared", reason: str | None = None
) -> bool:
    """Clear a challenger that has just become the champion, for a caller holding `store.changing()` (recorded in the
    challenger history); True if one was."""
    why = reason if event != "cleared" and reason else f"{version} was activated: it is the champion now"
    setting = challengers.read_setting(store.root)
    if setting is not None and setting["version"] == version:
        challengers.write_setting(store.root, None, event=event, reason=why[:MAX_REASON_LENGTH], key=key)
        return True
    return False


def activate(*, registry: ModelRegistry, version: str, reason: str, key: str) -> dict[str, Any]:
    """Make a version active everywhere (this worker at once, the others at their next poll)."""
    entry = activate_in_store(store=registry.store, version=version, reason=reason, key=key)
    registry.refresh()
    return entry


def rollback_in_store(*, store: VersionStore, reason: str, key: str | None) -> dict[str, Any]:
    """Point the versions folder back at the previously active version (the CLI's path)."""
    with store.changing():
        entry = store.rollback_locked(reason=reason[:MAX_REASON_LENGTH], key=key)
        _clear_equal_challenger_locked(store=store, version=entry["to"], key=key)
    return entry


def rollback(*, registry: ModelRegistry, reason: str, key: str) -> dict[str, Any]:
    """Go back to the previously active version."""
    entry = rollback_in_store(store=registry.store, reason=reason, key=key)
    registry.refresh()
    return entry


def delete_from_store(*, store: VersionStore, version: str) -> None:
    """Delete a version that is not active from the versions folder, with its label (the CLI's path)."""
    store.folder(version)  # 404 at once, without waiting for the lock
    with store.changing():
        # Under the lock a challenger is set with: checked before it, a challenger set meanwhile would name a deleted
        # version.
        setting = challengers.read_setting(store.root)
        if setting is not None and setting["version"] == version:
            raise VersionConflict(
                f"version {version} is the running challenger: stop it first (DELETE /api/v1/challenger)"
            )
        store.delete_locked(version)
        if version in read_labels(store.root):
            write_label(store.root, version, "", key=None)


def set_label(*, registry: ModelRegistry, version: str, label: str, key: str | None) -> dict[str, Any]:
    """Give a version a label people know it by (an empty one removes it); the signed version is not touched."""
    registry.store.folder(version)  # 404 for an unknown version, before the lock
    text = clean_label(label)
    with registry.store.lock():
        registry.store.folder(version)  # again under the lock: a delete may have come first
        write_label(registry.store.root, version, text, key=key)
    return version_detail(registry=registry, version=version)


def delete(*, registry: ModelRegistry, version: str) -> None:
    """Delete a version that is not active."""
    delete_from_store(store=registry.store, version=version)
    registry.forget(version)


def history(*, registry: ModelRegistry) -> dict[str, Any]:
    """Every activation, oldest first."""
    return {"entries": registry.store.history()}


def compare(*, registry: ModelRegistry, version: str, with_version: str) -> dict[str, Any]:
    """How a candidate version differs from another (or the active one) on the candidate's training customers.

    The customers are the candidate's stored map sample (up to 1,000 training rows, original units), since
    raw training data is not kept. Each is segmented by both models: the migration matrix counts how many
    each baseline segment sends to each candidate segment.
    """
    candidate = registry.get(version)
    baseline = registry.get(None if with_version == "active" else with_version)
    if candidate.features != baseline.features:
        raise VersionConflict(
            f"versions {candidate.version} and {baseline.version} use different features and cannot be compared"
        )
    X = np.asarray(candidate.info.get("map_sample") or [], dtype=np.float64).reshape(-1, len(candidate.features))
    old = baseline.score(X).positions if len(X) else np.array([], dtype=int)
    new = candidate.score(X).positions if len(X) else np.array([], dtype=int)
    old_by_id = {segment.segment_id: segment for segment in baseline.segments}
    new_by_id = {segment.segment_id: segment for segment in candidate.segments}
    shifts = []
    for segment_id in sorted(old_by_id.keys() & new_by_id.keys()):
        before, after = old_by_id[segment_id], new_by_id[segment_id]
        shift = {f: after.centroid[f] - before.centroid[f] for f in candidate.features}
        shifts.append(
            {
                "segment_id": segment_id,
                "name": after.name,
                "shift": shift,
                "distance": float(np.sqrt(sum(value * value for value in shift.values()))),
            }
        )
    changes = []
    for segment_id in sorted(old_by_id.keys() | new_by_id.keys()):
        before, after = old_by_id.get(segment_id), new_by_id.get(segment_id)
        old_share, new_share = (before.share if before else 0.0), (after.share if after else 0.0)
        changes.append(
            {
                "segment_id": segment_id,
                "name": (after or before).name,
                "old_size": before.size if before else None,
                "new_size": after.size if after else None,
                "old_share": old_share,
                "new_share": new_share,
                "share_change": new_share - old_share,
            }
        )
    return {
        "version": candidate.version,
        "with_version": baseline.version,
        "n_customers": len(X),
        "customers": "the candidate's stored sample of its training customers",
        **migration(baseline=baseline, candidate=candidate, old=old, new=new),
        "centroid_shifts": shifts,
        "segment_changes": changes,
        "metric_deltas": metric_deltas(baseline.info, candidate.info),
    }


def migration(
    *, baseline: SegmentationModel, candidate: SegmentationModel, old: np.ndarray, new: np.ndarray
) -> dict[str, Any]:
    """Both versions' segments by name, and how many customers each baseline segment sends to each candidate one.

    `old` and `new` are the same customers' segment positions in each version (the challenger report reuses this
    on live traffic).
    """
    matrix = np.zeros((baseline.n_clusters, candidate.n_clusters), dtype=int)
    np.add.at(matrix, (np.asarray(old, dtype=int), np.asarray(new, dtype=int)), 1)
    return {
        "old_segments": [{"segment_id": s.segment_id, "name": s.name} for s in baseline.segments],
        "new_segments": [{"segment_id": s.segment_id, "name": s.name} for s in candidate.segments],
        "migration_matrix": matrix.tolist(),
    }


def _not_comparable(name: str, old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """Why a metric of two versions says nothing about which is better, or None when it does.

    Silhouette and Davies-Bouldin are ratios of distances that do not grow with the number of customers.
    Calinski-Harabasz grows with it, and inertia sums over the customers in each version's own standardized units,
    so both need the same training data; inertia also always falls as k grows, so it needs the same k too.
    """
    if name in ("silhouette", "davies_bouldin"):
        return None
    same_data = old.get("data_sha256") is not None and old.get("data_sha256") == new.get("data_sha256")
    if not same_data:
        grows = "it grows with" if name == "calinski_harabasz" else "it sums distances over"
        return f"{grows} each version's own training customers, and the two were trained on different data"
    if name == "inertia" and old.get("n_clusters") != new.get("n_clusters"):
        return f"inertia always falls as k grows (k={old.get('n_clusters')} against k={new.get('n_clusters')})"
    return None


def metric_deltas(old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each quality metric in both versions' infos: the change, and better or worse where the two are comparable."""
    old_metrics, new_metrics = old.get("metrics") or {}, new.get("metrics") or {}
    deltas = {}
    for name, higher_is_better in HIGHER_IS_BETTER.items():
        if name not in old_metrics or name not in new_metrics:
            continue
        before, after = old_metrics[name], new_metrics[name]
        why_not = _not_comparable(name, old, new)
        if why_not is not None:
            verdict = None
        elif math.isclose(after, before, rel_tol=1e-4, abs_tol=1e-9):
            verdict = "unchanged"
        else:
            verdict = "better" if (after > before) == higher_is_better else "worse"
        deltas[name] = {
            "old": before,
            "new": after,
            "delta": after - before,
            "higher_is_better": higher_is_better,
            "comparable": why_not is None,
            "verdict": verdict,
            "not_comparable_because": why_not,
        }
    return deltas
