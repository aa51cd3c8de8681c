"""The /models page: versions with metrics, the active badge, rollback, and a comparison heatmap."""

from collections.abc import Callable
from typing import Any

from app.core.errors import SegmentationError
from app.models.segmentations.registries import Segmentations
from app.models.segmentations.spec import DEFAULT_NAME
from app.models.versions.registry import ModelRegistry
from app.web.charts.heatmap import heatmap_chart
from app.web.pages.about import METRIC_MEANINGS
from app.web.pages.models_proposals import proposals_section

VERDICTS = {"better": "better", "worse": "worse", "unchanged": "no change"}


def _rollback_offer(registry: ModelRegistry) -> dict[str, str]:
    """The version the rollback button would activate, or why there is none (the page then shows no button)."""
    try:
        return {"to": registry.store.rollback_target()}
    except SegmentationError as exc:
        return {"unavailable": exc.message}


def metric_rows(deltas: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The comparison's metrics by name and meaning: those that rank the two versions, and those that cannot."""
    rows: dict[str, list[dict[str, Any]]] = {"comparable": [], "not_comparable": []}
    for key, delta in deltas.items():
        label = METRIC_MEANINGS[key][0] if key in METRIC_MEANINGS else key
        direction = "higher is better" if delta["higher_is_better"] else "lower is better"
        # Silhouette and Davies-Bouldin live near 0-2, the others in the hundreds.
        digits = 3 if key in ("silhouette", "davies_bouldin") else 1
        verdict = VERDICTS.get(delta["verdict"], "")
        row = delta | {"key": key, "label": label, "direction": direction, "digits": digits, "verdict_text": verdict}
        rows["comparable" if delta["comparable"] else "not_comparable"].append(row)
    return rows


def challenger_section(
    registry: ModelRegistry, *, segmentation: str, db_sessions: Callable[[], Any] | None
) -> dict[str, Any]:
    """The running challenger and its report (or why there is none), for the page's champion-and-challenger block."""
    from app.services.challenger import control, report

    section: dict[str, Any] = {"setting": control.show(registry=registry, segmentation=segmentation)}
    section["report"], section["report_error"] = None, None
    if section["setting"]["challenger"] is not None and db_sessions is not None:
        try:
            with db_sessions() as session:
                section["report"] = report.report(session=session, registry=registry, segmentation=segmentation)
        except SegmentationError as exc:
            section["report_error"] = exc.message
    return section


def trains_on_transactions(segmentations: Segmentations, name: str) -> bool:
    """Whether segmentation `name` trains on a transactions export (RFM) rather than a file of customers."""
    return name != DEFAULT_NAME and segmentations.spec(name).kind == "rfm"


def models_page(
    registry: ModelRegistry,
    *,
    compare: str | None,
    with_version: str | None,
    admin_enabled: bool,
    segmentation: str = DEFAULT_NAME,
    job_id: str | None = None,
    db_sessions: Callable[[], Any] | None = None,
    transactions: bool = False,
) -> dict[str, Any]:
    """The versions list, the challenger, and a comparison of two versions when asked; `transactions` when the
    segmentation (RFM) trains on a transactions export rather than a customer file."""
    from app.services import lifecycle

    listing = lifecycle.list_versions(registry=registry)
    context: dict[str, Any] = {
        "active": "models",
        "listing": listing,
        "by_version": {v["version"]: v for v in listing["versions"]},
        "admin_enabled": admin_enabled,
        # Where the page's buttons send their requests: the segmentation's own API.
        "api_base": "/api/v1" if segmentation == DEFAULT_NAME else f"/api/v1/segmentations/{segmentation}",
        "job_id": job_id,
        "transactions": transactions,
        "history": list(reversed(lifecycle.history(registry=registry)["entries"]))[:10],
        "rollback": _rollback_offer(registry),
        "compare": compare,
        "with_version": with_version or "active",
        "comparison": None,
        "heatmap": None,
        "metrics": None,
        "compare_error": None,
        "challenger": challenger_section(registry, segmentation=segmentation, db_sessions=db_sessions),
        "proposals": proposals_section(segmentation=segmentation, db_sessions=db_sessions),
    }
    if compare:
        try:
            comparison = lifecycle.compare(registry=registry, version=compare, with_version=with_version or "active")
        except SegmentationError as exc:
            context["compare_error"] = exc.message
        else:
            context["comparison"] = comparison
            context["heatmap"] = heatmap_chart(comparison)
            context["metrics"] = metric_rows(comparison["metric_deltas"])
    return context
