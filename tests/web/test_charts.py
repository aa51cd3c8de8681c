"""Chart geometry: regions agree with the model, markers sit where the data says, styles follow stable ids."""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from app.models.clustering import K_RANGE
from app.utils.scales import LinearScale
from app.web.charts import k_chart, segment_map
from app.web.charts import styles as chart_styles


def _polygon(path: str) -> np.ndarray:
    return np.array([[float(v) for v in pair.split(",")] for pair in path.strip("MZ").split("L")])


def _area(polygon: np.ndarray) -> float:
    x, y = polygon[:, 0], polygon[:, 1]
    return abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))) / 2


def test_regions_are_one_exact_polygon_per_segment_that_tile_the_plot(model):
    chart = segment_map.segment_map(model)
    plot, domain = chart["plot"], chart["domain"]
    assert sorted(region["segment_id"] for region in chart["regions"]) == [0, 1, 2, 3, 4]
    polygons = {region["segment_id"]: _polygon(region["path"]) for region in chart["regions"]}
    plot_area = (plot["right"] - plot["left"]) * (plot["bottom"] - plot["top"])
    # No gaps and no overlaps: the polygons' areas add up to the plot's exactly (no grid cells, no stair steps).
    assert sum(_area(polygon) for polygon in polygons.values()) == pytest.approx(plot_area, rel=1e-6)

    def to_data(px: float, py: float) -> list[float]:
        x = domain["x_min"] + (px - plot["left"]) / (plot["right"] - plot["left"]) * (domain["x_max"] - domain["x_min"])
        y = domain["y_min"] + (plot["bottom"] - py) / (plot["bottom"] - plot["top"]) * (
            domain["y_max"] - domain["y_min"]
        )
        return [x, y]

    for segment_id, polygon in polygons.items():
        # Points inside a convex polygon (between its centroid and its corners) belong to its segment.
        centre = polygon.mean(axis=0)
        for corner in polygon:
            px, py = centre + 0.9 * (corner - centre)
            position, _ = model.predict_one(to_data(px, py))
            assert model.segments[position].segment_id == segment_id


def test_points_and_centroids_follow_the_model(model):
    chart = segment_map.segment_map(model)
    assert len(chart["points"]) == model.info["n_samples"]
    assert {c["segment"].segment_id for c in chart["centroids"]} == {0, 1, 2, 3, 4}
    assert [item["size"] for item in chart["legend"]] == [segment.size for segment in model.segments]


def test_map_position_maps_and_clamps(model):
    chart = segment_map.segment_map(model)
    plot = chart["plot"]
    assert segment_map.map_position(chart, 0, 0) == {"x": plot["left"], "y": plot["bottom"], "off_chart": None}
    # Beyond the right edge: pinned to it, with an arrow pointing right (0 degrees).
    assert segment_map.map_position(chart, 10_000, 50)["x"] == plot["right"]
    assert segment_map.map_position(chart, 10_000, 50)["off_chart"] == 0
    assert segment_map.map_position(chart, 10_000, 100) == {"x": plot["right"], "y": plot["top"], "off_chart": 0}
    position = segment_map.map_position(chart, 75, 50)
    assert plot["left"] < position["x"] < plot["right"] and plot["top"] < position["y"] < plot["bottom"]
    assert position["off_chart"] is None


def test_styles_are_unique_and_keyed_by_segment_id(model):
    styles = chart_styles.segment_styles(model)
    assert len({style.colour for style in styles}) == len(styles)
    assert len({style.shape for style in styles}) == len(styles)
    assert styles[1].segment_id == 1 and styles[1].colour == chart_styles.PALETTE[1]


def test_no_two_segments_share_a_colour_or_a_shape_for_any_k(model):
    assert len(chart_styles.PALETTE) == len(set(chart_styles.PALETTE)) >= max(K_RANGE)
    assert len(set(chart_styles.SHAPES.values())) == len(chart_styles.SHAPES) >= max(K_RANGE)
    for k in K_RANGE:
        segments = [replace(model.segments[0], segment_id=segment_id) for segment_id in range(k)]
        styles = chart_styles.segment_styles(SimpleNamespace(segments=segments))  # styles read only the segments
        assert len({style.shape for style in styles}) == len({style.colour for style in styles}) == k


@pytest.mark.parametrize("ids", [[0, 1, 2, 3, 4, 5, 15], [5, 15, 25], [3, 13, 0, 1, 2, 4, 5, 6, 7, 8]])
def test_ids_beyond_the_palette_never_share_a_style_and_low_ids_keep_theirs(model, ids):
    # Segment ids never repeat across versions, so a model can hold 5 and 15 (which % 10 would give one style).
    segments = [replace(model.segments[0], segment_id=segment_id) for segment_id in ids]
    styles = {style.segment_id: style for style in chart_styles.segment_styles(SimpleNamespace(segments=segments))}
    assert (
        len({style.shape for style in styles.values()}) == len({style.colour for style in styles.values()}) == len(ids)
    )
    for segment_id in ids:
        if segment_id < len(chart_styles.PALETTE):
            assert styles[segment_id].colour == chart_styles.PALETTE[segment_id]


def test_k_chart_marks_the_chosen_k(model):
    chart = k_chart.k_selection_chart(model)
    assert [p["k"] for p in chart["silhouette"]] == list(range(2, 11))
    assert chart["chosen"]["k"] == 5
    best = max(chart["silhouette"], key=lambda p: p["value"])
    assert best["y"] == min(p["y"] for p in chart["silhouette"])  # highest value is drawn highest


@pytest.mark.parametrize(("k", "anchor"), [(2, "start"), (5, "start"), (7, "end"), (10, "end")])
def test_chosen_k_label_runs_inwards_from_its_line(k, anchor):
    x = LinearScale(2, 10, 88, 460)
    mark = k_chart._chosen_k_mark(k, x, 88, 460)
    assert (mark["k"], mark["anchor"]) == (k, anchor)
    assert mark["label_x"] == mark["x"] + (6 if anchor == "start" else -6)


def test_k_chart_points_stay_within_the_labelled_axes(model):
    chart = k_chart.k_selection_chart(model)
    # Screen y grows downwards: no point may sit above the top tick label of its axis (k = 2 used to).
    top_inertia = min(t["px"] for t in chart["inertia_ticks"])
    top_silhouette = min(t["px"] for t in chart["silhouette_ticks"])
    assert all(p["y"] >= top_inertia for p in chart["inertia"])
    assert all(p["y"] >= top_silhouette for p in chart["silhouette"])
    assert max(t["value"] for t in chart["inertia_ticks"]) >= max(p["value"] for p in chart["inertia"])
