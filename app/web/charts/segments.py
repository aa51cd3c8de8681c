"""Server-side chart geometry: the segment map and the k-selection chart, drawn as inline SVG by templates."""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.models.model import SegmentationModel
from app.utils.scales import LinearScale, covering_ticks, nice_ticks

# One colour and one shape per segment id, used by every chart, legend and result card: as many of each as the
# largest k (K_RANGE), so no two segments share either. Okabe-Ito colours come first; they stay distinguishable
# with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#CC79A7", "#009E73", "#E69F00", "#56B4E9", "#7A6A00", "#444444", "#8C564B", "#5E3C99")
SHAPES = {
    "circle": "M-5,0a5,5 0 1,0 10,0a5,5 0 1,0 -10,0Z",
    "square": "M-4.5,-4.5h9v9h-9Z",
    "triangle": "M0,-5.5L5.5,4.5H-5.5Z",
    "diamond": "M0,-6L6,0L0,6L-6,0Z",
    "inverted triangle": "M0,5.5L5.5,-4.5H-5.5Z",
    "star": "M0,-6.5L1.65,-2.27L6.18,-2.01L2.66,0.87L3.82,5.26L0,2.8L-3.82,5.26L-2.66,0.87L-6.18,-2.01L-1.65,-2.27Z",
    "cross": "M-2,-6h4v4h4v4h-4v4h-4v-4h-4v-4h4Z",
    "hourglass": "M-5,-5.5H5L0,0L5,5.5H-5L0,0Z",
    "hexagon": "M5.5,0L2.75,4.76L-2.75,4.76L-5.5,0L-2.75,-4.76L2.75,-4.76Z",
    "pentagon": "M0,-5.8L5.52,-1.79L3.41,4.69L-3.41,4.69L-5.52,-1.79Z",
}
SHAPE_ORDER = tuple(SHAPES)
MAP_FEATURES = ["annual_income", "spending_score"]
MAP_DOMAIN = {"annual_income": (0.0, 150.0), "spending_score": (0.0, 100.0)}


@dataclass(frozen=True)
class SegmentStyle:
    """How one segment looks everywhere in the app."""

    segment_id: int
    name: str
    colour: str
    shape: str
    path: str


def style_slots(segment_ids: list[int]) -> dict[int, int]:
    """Each segment id's place in the palette and the shape list: its own id where free, so styles follow stable ids.

    Ids never repeat across versions, so one model can hold ids beyond the lists (5 and 15): the higher id then
    takes the next free place, and no two segments of a model share a colour or a shape.
    """
    size = len(SHAPE_ORDER)
    slots: dict[int, int] = {}
    taken: set[int] = set()
    # Ids below the lists' length take their own place first, so they look the same in every version.
    for segment_id in sorted(segment_ids, key=lambda i: (i >= size, i)):
        slot = segment_id % size
        while slot in taken and len(taken) < size:
            slot = (slot + 1) % size
        slots[segment_id] = slot
        taken.add(slot)
    return slots


def segment_styles(model: SegmentationModel) -> list[SegmentStyle]:
    """The colour and marker shape of every segment, by stable id (so colours never follow KMeans labels)."""
    slots = style_slots([segment.segment_id for segment in model.segments])
    styles = []
    for segment in model.segments:
        slot = slots[segment.segment_id]
        shape = SHAPE_ORDER[slot]
        styles.append(SegmentStyle(segment.segment_id, segment.name, PALETTE[slot], shape, SHAPES[shape]))
    return styles


def segment_map(model: SegmentationModel, *, width: int = 640, height: int = 460) -> dict[str, Any] | None:
    """Geometry of the income x spending map: decision regions, customers, centroids, axes; None for other features."""
    if model.features != MAP_FEATURES:
        return None
    # Margins leave room for tick labels at twice the desktop size: phones scale the chart down and the stylesheet
    # scales its text up, so tick labels stay readable (at least 11 px) on a 375 px screen.
    left, right, top, bottom = 84, 28, 16, 72
    (x_min, x_max), (y_min, y_max) = MAP_DOMAIN["annual_income"], MAP_DOMAIN["spending_score"]
    x_max = max(x_max, float(model.info["data_stats"]["annual_income"]["max"]))
    x = LinearScale(x_min, x_max, left, width - right)
    y = LinearScale(y_min, y_max, height - bottom, top)
    styles = segment_styles(model)
    regions = [
        {
            "path": "M" + "L".join(f"{x(px):.2f},{y(py):.2f}" for px, py in polygon) + "Z",
            "colour": style.colour,
            "segment_id": style.segment_id,
        }
        for polygon, style in zip(model.decision_regions((x_min, x_max), (y_min, y_max)), styles, strict=True)
        if len(polygon) >= 3
    ]

    sample = np.asarray(model.info.get("map_sample") or np.empty((0, 2)), dtype=float).reshape(-1, 2)
    positions = model.labels(sample) if len(sample) else np.empty(0, dtype=int)
    points = [
        {"x": round(x(px), 2), "y": round(y(py), 2), "style": styles[int(p)]}
        for (px, py), p in zip(sample.tolist(), positions.tolist(), strict=True)
    ]
    centroids = [
        {
            "x": round(x(segment.centroid["annual_income"]), 2),
            "y": round(y(segment.centroid["spending_score"]), 2),
            "style": style,
            "segment": segment,
        }
        for segment, style in zip(model.segments, styles, strict=True)
    ]
    return {
        "width": width,
        "height": height,
        "plot": {"left": left, "right": width - right, "top": top, "bottom": height - bottom},
        "domain": {"x_min": x_min, "x_max": x_max, "y_min": y_min, "y_max": y_max},
        "x_ticks": [{"value": t, "px": round(x(t), 2)} for t in nice_ticks(x_min, x_max, 6)],
        "y_ticks": [{"value": t, "px": round(y(t), 2)} for t in nice_ticks(y_min, y_max, 5)],
        "regions": regions,
        "points": points,
        "centroids": centroids,
        "legend": [
            {"style": style, "size": segment.size} for segment, style in zip(model.segments, styles, strict=True)
        ],
    }


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


def map_position(chart: dict[str, Any], annual_income: float, spending_score: float) -> dict[str, Any]:
    """Where a customer sits on the segment map, clamped to the plot (app.js does the same).

    `off_chart` is the direction, in degrees clockwise from pointing right, from the clamped marker towards the
    customer's real place when that lies outside the chart; None when the customer is on the chart.
    """
    domain, plot = chart["domain"], chart["plot"]
    income = min(max(annual_income, domain["x_min"]), domain["x_max"])
    score = min(max(spending_score, domain["y_min"]), domain["y_max"])
    x = LinearScale(domain["x_min"], domain["x_max"], plot["left"], plot["right"])
    y = LinearScale(domain["y_min"], domain["y_max"], plot["bottom"], plot["top"])
    dx = (annual_income > domain["x_max"]) - (annual_income < domain["x_min"])
    dy = (spending_score < domain["y_min"]) - (spending_score > domain["y_max"])  # screen y grows downwards
    off_chart = round(math.degrees(math.atan2(dy, dx))) if dx or dy else None
    return {"x": round(x(income), 2), "y": round(y(score), 2), "off_chart": off_chart}


def segment_bars(segments: list[dict[str, Any]], model: SegmentationModel, *, width: int = 440) -> dict[str, Any]:
    """Geometry of a horizontal bar chart of customers per segment (share of the scored file)."""
    styles = {style.segment_id: style for style in segment_styles(model)}
    # Names sit above their bars, not beside them: at a phone's text size a name beside the bar ran off the chart.
    left, right, label_height, bar_height, gap, top = 2, 130, 22, 20, 10, 4
    plot_width = width - left - right
    bars = []
    for index, segment in enumerate(segments):
        y = top + index * (label_height + bar_height + gap) + label_height
        bars.append(
            {
                "y": y,
                "height": bar_height,
                "width": round(max(segment["share"] * plot_width, 0), 2),
                "label_y": y - 6,
                "value_y": y + bar_height / 2,
                "style": styles[segment["segment_id"]],
                "segment": segment,
            }
        )
    return {
        "width": width,
        "height": top + len(segments) * (label_height + bar_height + gap),
        "left": left,
        "plot_width": plot_width,
        "bars": bars,
    }


def customer_points(chart: dict[str, Any], model: SegmentationModel, sample: list[tuple[float, float, int]]):
    """Map markers for a sample of scored customers: (income, spending, segment position) each."""
    styles = segment_styles(model)
    points = []
    for income, spending, position in sample:
        position_on_map = map_position(chart, income, spending)
        points.append({"x": position_on_map["x"], "y": position_on_map["y"], "style": styles[position]})
    return points
