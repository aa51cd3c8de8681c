"""A segment map on any two of a model's features, the others held at their training median.

Regions are exact polygons when both features are clustered as they are (the boundaries are straight lines in the
features' own units); with a log1p feature the boundaries curve, so they are drawn on a fine grid instead.
"""

from typing import Any

import numpy as np

from app.models.model import SegmentationModel
from app.models.projection import segment_centroids
from app.utils.geometry import Point, clip_half_plane
from app.web.charts.map_frame import (
    axis_label,
    centre_description,
    centroid_marks,
    dots,
    feature_domain,
    frame,
    legend,
    regions_from_grid,
    regions_from_polygons,
    scales,
    value_text,
)
from app.web.charts.styles import segment_styles

# Grid cells across and down the plot for curved boundaries: about 4 px each, finer than a dot.
GRID_CELLS = (132, 93)


def map_sample(model: SegmentationModel) -> np.ndarray:
    """The training customers a version keeps for its map, in the features' own units: (n, n_features)."""
    return np.asarray(model.info.get("map_sample") or [], dtype=np.float64).reshape(-1, len(model.features))


def held_values(model: SegmentationModel) -> np.ndarray:
    """Where the features not on a pair map are held: each one's median over the map sample (else its mean)."""
    sample = map_sample(model)
    if len(sample):
        return np.median(sample, axis=0)
    stats = model.info.get("data_stats") or {}
    # The scaler's mean is a last resort: it is in the model's space, which differs for log features.
    return np.array([float(stats.get(name, {}).get("mean", 0.0)) for name in model.features])


def slice_regions(
    model: SegmentationModel, x: int, y: int, x_range: tuple[float, float], y_range: tuple[float, float]
) -> list[list[Point]]:
    """Each segment's region on features x and y (both untransformed), the others held: one polygon per segment.

    Own centroid i is nearer than j when sum_d 2 z_d (c_jd - c_id) <= sum_d (c_jd² - c_id²); with z = (v - mean) /
    scale that is linear in the two free values, and the held features only add a constant.
    """
    centres = segment_centroids(model)
    held = (model.to_model_space(held_values(model)[None, :])[0] - model.mean) / model.scale
    others = [f for f in range(len(model.features)) if f not in (x, y)]
    (x0, x1), (y0, y1) = x_range, y_range
    regions = []
    for i, own in enumerate(centres):
        polygon: list[Point] = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        for j, other in enumerate(centres):
            if j == i or not polygon:
                continue
            a = 2 * (other - own) / model.scale
            b = float(
                (other**2 - own**2).sum()
                + a[x] * model.mean[x]
                + a[y] * model.mean[y]
                - sum(2 * held[o] * (other[o] - own[o]) for o in others)
            )
            polygon = clip_half_plane(polygon, (float(a[x]), float(a[y])), b)
        regions.append(polygon)
    return regions


def _grid(model: SegmentationModel, chart: dict[str, Any], x: int, y: int) -> np.ndarray:
    """Segment positions at the centre of every grid cell, rows from the top of the plot."""
    domain = chart["domain"]
    columns, rows = GRID_CELLS
    xs = domain["x_min"] + (np.arange(columns) + 0.5) / columns * (domain["x_max"] - domain["x_min"])
    ys = domain["y_max"] - (np.arange(rows) + 0.5) / rows * (domain["y_max"] - domain["y_min"])
    grid_x, grid_y = np.meshgrid(xs, ys)
    values = np.tile(held_values(model), (grid_x.size, 1))
    values[:, x], values[:, y] = grid_x.ravel(), grid_y.ravel()
    return model.labels(values).reshape(rows, columns)


def pair_map(model: SegmentationModel, x_name: str, y_name: str) -> dict[str, Any]:
    """Geometry of the map of two features: regions, training customers, centroids, axes and what was held."""
    x, y = model.features.index(x_name), model.features.index(y_name)
    fx, fy = model.feature_specs[x], model.feature_specs[y]
    chart = frame(feature_domain(model, fx), feature_domain(model, fy))
    styles = segment_styles(model)
    exact = fx.transform == "none" and fy.transform == "none"
    if exact:
        to_x, to_y = scales(chart)
        domain = chart["domain"]
        polygons = slice_regions(model, x, y, (domain["x_min"], domain["x_max"]), (domain["y_min"], domain["y_max"]))
        regions = regions_from_polygons(polygons, styles, to_x, to_y)
    else:
        regions = regions_from_grid(chart, _grid(model, chart, x, y), styles, GRID_CELLS)
    sample = map_sample(model)
    positions = model.labels(sample).tolist() if len(sample) else []
    held = held_values(model)
    others = [(spec, held[f]) for f, spec in enumerate(model.feature_specs) if f not in (x, y)]
    note = None
    if others:
        values = ", ".join(f"{spec.label} {value_text(float(value), spec)}" for spec, value in others)
        note = (
            f"Shaded areas show the segment of a customer whose other features sit at the training median ({values}). "
            "Each dot is coloured by its own segment, whatever its other features, so some dots sit in another "
            "segment's area."
        )
    return {
        **chart,
        "kind": "pair",
        "title": f"Customers by {fx.label.lower()} and {fy.label.lower()}, coloured by segment",
        "desc": centre_description(model, [fx, fy]),
        "x_label": axis_label(fx),
        "y_label": axis_label(fy),
        "note": note,
        "exact": exact,
        "axes": [],
        "x_feature": x_name,
        "y_feature": y_name,
        "placement": {"kind": "pair", "x": x_name, "y": y_name},
        "regions": regions,
        "points": dots(chart, sample[:, [x, y]], positions, styles),
        "centroids": centroid_marks(
            chart,
            model,
            np.array([[s.centroid[x_name], s.centroid[y_name]] for s in model.segments]),
            styles,
        ),
        "legend": legend(model, styles),
    }
