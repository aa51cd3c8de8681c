"""The k-selection chart: inertia and silhouette against k, with the chosen k marked."""

from typing import Any

from app.models.model import SegmentationModel
from app.utils.scales import LinearScale, covering_ticks


def k_selection_chart(model: SegmentationModel, *, width: int = 560, height: int = 300) -> dict[str, Any] | None:
    """Geometry of inertia and silhouette against k, with the chosen k marked."""
    entries = model.info.get("k_selection") or []
    if len(entries) < 2:
        return None
    # The top margin holds the "chosen k" label above the plot, clear of both axes' top tick labels.
    left, right, top, bottom = 88, 100, 44, 84
    ks = [entry["k"] for entry in entries]
    inertia = [entry["inertia"] for entry in entries]
    silhouette = [entry["silhouette"] for entry in entries]
    x = LinearScale(min(ks), max(ks), left, width - right)
    # Both axes end on a tick at or above the largest value, so every point sits inside the labelled range.
    inertia_ticks = covering_ticks(0, max(inertia), 4)
    y_inertia = LinearScale(0, inertia_ticks[-1], height - bottom, top)
    silhouette_ticks = covering_ticks(0, max(1.0 if max(silhouette) > 0.75 else 0.8, max(silhouette)), 4)
    y_silhouette = LinearScale(0, silhouette_ticks[-1], height - bottom, top)
    chosen = model.n_clusters
    return {
        "width": width,
        "height": height,
        "plot": {"left": left, "right": width - right, "top": top, "bottom": height - bottom},
        "k_ticks": [{"value": k, "px": round(x(k), 2)} for k in ks],
        "inertia_ticks": [{"value": t, "px": round(y_inertia(t), 2)} for t in inertia_ticks],
        "silhouette_ticks": [{"value": t, "px": round(y_silhouette(t), 2)} for t in silhouette_ticks],
        "inertia": [
            {"k": k, "value": v, "x": round(x(k), 2), "y": round(y_inertia(v), 2)}
            for k, v in zip(ks, inertia, strict=True)
        ],
        "silhouette": [
            {"k": k, "value": v, "x": round(x(k), 2), "y": round(y_silhouette(max(v, 0)), 2)}
            for k, v in zip(ks, silhouette, strict=True)
        ],
        "chosen": _chosen_k_mark(chosen, x, left, width - right) if chosen in ks else None,
    }


def _chosen_k_mark(k: int, x: LinearScale, left: float, right: float) -> dict[str, Any]:
    """The chosen k's line, and its label running inwards from it (so it never runs off the plot's side)."""
    at = round(x(k), 2)
    inwards = "end" if at > (left + right) / 2 else "start"
    return {"k": k, "x": at, "anchor": inwards, "label_x": at - 6 if inwards == "end" else at + 6}
