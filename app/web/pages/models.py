"""The /models page: versions with metrics, the active badge, rollback, and a comparison heatmap."""

from typing import Any

from app.core.errors import SegmentationError
from app.models.versions.registry import ModelRegistry
from app.web.charts.heatmap import heatmap_chart


def _rollback_offer(registry: ModelRegistry) -> dict[str, str]:
    """The version the rollback button would activate, or why there is none (the page then shows no button)."""
    try:
        return {"to": registry.store.rollback_target()}
    except SegmentationError as exc:
        return {"unavailable": exc.message}


def models_page(registry: ModelRegistry, *, compare: str | None, with_version: str | None) -> dict[str, Any]:
    """The versions list, and a comparison of two of them when asked."""
    from app.services import lifecycle

    listing = lifecycle.list_versions(registry=registry)
    context: dict[str, Any] = {
        "active": "models",
        "listing": listing,
        "history": list(reversed(lifecycle.history(registry=registry)["entries"]))[:10],
        "rollback": _rollback_offer(registry),
        "compare": compare,
        "with_version": with_version or "active",
        "comparison": None,
        "heatmap": None,
        "compare_error": None,
    }
    if compare:
        try:
            comparison = lifecycle.compare(registry=registry, version=compare, with_version=with_version or "active")
        except SegmentationError as exc:
            context["compare_error"] = exc.message
        else:
            context["comparison"] = comparison
            context["heatmap"] = heatmap_chart(comparison)
    return context
