"""Readiness of the service, as /api/v1/health and /readyz report it."""

from typing import Any

from app.core.draining import DRAINING_REASON
from app.models.versions.registry import ModelRegistry


def health_report(registry: ModelRegistry, *, app_version: str, now: float) -> dict[str, Any]:
    """Ready with the model version, or unavailable with the reason."""
    return {
        "status": "ok" if registry.ready else "unavailable",
        "model_loaded": registry.ready,
        "model_version": registry.active.version if registry.active else None,
        "uptime_seconds": round(now - registry.started_at, 3),
        "app_version": app_version,
        "reason": registry.reason,
        "auto_trained": bool(registry.active.info.get("auto_trained")) if registry.active else None,
        "artifacts_signed": bool(registry.active.info.get("signed")) if registry.active else None,
        "degraded": registry.degraded,
    }


def readiness_report(registry: ModelRegistry, *, draining: bool = False) -> dict[str, Any]:
    """Ready with the model version (and why it is a fallback, if it is), or not ready with the reason: a process
    that has begun to stop is not ready, whatever its model."""
    report: dict[str, Any] = {
        "status": "ready" if registry.ready and not draining else "not_ready",
        "model_version": registry.active.version if registry.active else None,
        "reason": DRAINING_REASON if draining else registry.reason,
    }
    degraded = registry.degraded  # read once: a poll may clear it meanwhile
    if degraded is not None:
        report["details"] = {"degraded": degraded}
    return report
