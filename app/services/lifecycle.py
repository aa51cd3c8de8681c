"""Model versions as the API and CLI show and change them: list, describe, activate, roll back, delete."""

from typing import Any

from app.models.registry import ModelRegistry

MAX_REASON_LENGTH = 200


def _summary(entry: dict[str, Any]) -> dict[str, Any]:
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
    }


def _segments(info: dict[str, Any]) -> list[dict[str, Any]]:
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
        for segment in info.get("segments", [])
    ]


def list_versions(*, registry: ModelRegistry) -> dict[str, Any]:
    """Every version, newest first, with the active one named."""
    entries = registry.versions()
    return {
        "active": next((e["version"] for e in entries if e["active"]), None),
        "versions": [_summary(entry) for entry in entries],
    }


def version_detail(*, registry: ModelRegistry, version: str) -> dict[str, Any]:
    """One version with its segments (404 when unknown)."""
    registry.store.folder(version)
    entry = next(e for e in registry.versions() if e["version"] == version)
    return _summary(entry) | {"segments": _segments(entry["info"])}


def activate(*, registry: ModelRegistry, version: str, reason: str, key: str) -> dict[str, Any]:
    """Make a version active everywhere (this worker at once, the others at their next poll)."""
    entry = registry.store.activate(version, reason=reason[:MAX_REASON_LENGTH], key=key)
    registry.refresh()
    return entry


def rollback(*, registry: ModelRegistry, reason: str, key: str) -> dict[str, Any]:
    """Go back to the previously active version."""
    entry = registry.store.rollback(reason=reason[:MAX_REASON_LENGTH], key=key)
    registry.refresh()
    return entry


def delete(*, registry: ModelRegistry, version: str) -> None:
    """Delete a version that is not active."""
    registry.store.delete(version)
    registry.forget(version)


def history(*, registry: ModelRegistry) -> dict[str, Any]:
    """Every activation, oldest first."""
    return {"entries": registry.store.history()}
