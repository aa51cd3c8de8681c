"""The segment map of a model with three or more features: customers on the PCA plane fitted at training."""

from typing import Any

import numpy as np

from app.models.model import SegmentationModel
from app.models.projection import Projection, axis_texts, place_customers, placed_centroids, plane_regions
from app.web.charts.map_frame import (
    BOTTOM,
    HEIGHT,
    LEFT,
    RIGHT,
    TOP,
    WIDTH,
    centre_description,
    centroid_marks,
    dots,
    frame,
    legend,
    regions_from_polygons,
    scales,
)
from app.web.charts.pair_map import map_sample
from app.web.charts.styles import segment_styles

# Room around the customers and centroids, as a share of their extent.
PADDING = 0.08


def _domains(points: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """Both axes at one scale (a unit across is a unit up, so distances on the plane look as they are), padded."""
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.maximum(high - low, 1e-6) * (1 + 2 * PADDING)
    middle = (low + high) / 2
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    per_px = max(span[0] / plot_w, span[1] / plot_h)
    half = np.array([plot_w, plot_h]) * per_px / 2
    return (float(middle[0] - half[0]), float(middle[0] + half[0])), (
        float(middle[1] - half[1]),
        float(middle[1] + half[1]),
    )


def placement(model: SegmentationModel) -> dict[str, Any]:
    """What the page's script needs to place a customer on the plane as the server does."""
    projection = Projection.of(model)
    return {
        "kind": "projection",
        "features": list(model.features),
        "log": [spec.transform == "log1p" for spec in model.feature_specs],
        "mean": model.mean.tolist(),
        "scale": model.scale.tolist(),
        "center": projection.center.tolist(),
        "components": projection.components.tolist(),
    }


def projection_map(model: SegmentationModel) -> dict[str, Any]:
    """Geometry of the plane map: on-plane regions, training customers, centroids and the axes explained."""
    styles = segment_styles(model)
    sample = map_sample(model)
    placed = place_customers(model, sample) if len(sample) else np.empty((0, 2))
    centres = placed_centroids(model)
    chart = frame(*_domains(np.vstack([placed, centres])))
    domain = chart["domain"]
    to_x, to_y = scales(chart)
    polygons = plane_regions(model, (domain["x_min"], domain["x_max"]), (domain["y_min"], domain["y_max"]))
    regions = regions_from_polygons(polygons, styles, to_x, to_y)
    n = len(model.features)
    return {
        **chart,
        "kind": "projection",
        "title": f"Customers on the two main axes of their {n} features, coloured by segment",
        "desc": centre_description(model, model.feature_specs),
        "x_label": "Axis 1",
        "y_label": "Axis 2",
        "caption": (
            f"Each dot is a training customer, placed on the two axes that show most of the spread of its {n} "
            "features. Shaded areas show which segment a customer lying on this plane would join; the black ring "
            "is your customer."
        ),
        "note": (
            "Customers off the plane can belong to another segment than the area they fall in: each dot is "
            "coloured by its own segment."
        ),
        "axes": axis_texts(model),
        "axes_note": "Each feature counts in standard deviations from its training mean (a log feature on its log).",
        "placement": placement(model),
        "regions": regions,
        "points": dots(chart, placed, model.labels(sample).tolist() if len(sample) else [], styles),
        "centroids": centroid_marks(chart, model, centres, styles),
        "legend": legend(model, styles),
    }
