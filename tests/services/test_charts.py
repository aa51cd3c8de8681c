"""Chart geometry: regions agree with the model, markers sit where the data says, styles follow stable ids."""

import numpy as np

from app.services import charts


def test_regions_cover_the_plot_and_agree_with_predictions(model):
    chart = charts.segment_map(model)
    plot = chart["plot"]
    styles = charts.segment_styles(model)
    colour_of = {style.colour: style.segment_id for style in styles}
    x_scale = (chart["domain"]["x_max"] - chart["domain"]["x_min"]) / (plot["right"] - plot["left"])
    y_scale = (chart["domain"]["y_max"] - chart["domain"]["y_min"]) / (plot["bottom"] - plot["top"])
    rng = np.random.default_rng(0)
    for region in rng.choice(chart["regions"], 60, replace=False):
        # The centre of every region rectangle is classified as the region's segment.
        cx = chart["domain"]["x_min"] + (region["x"] + region["w"] / 2 - plot["left"]) * x_scale
        cy = chart["domain"]["y_min"] + (plot["bottom"] - (region["y"] + region["h"] / 2)) * y_scale
        position, _ = model.predict_one([cx, cy])
        assert model.segments[position].segment_id == colour_of[region["colour"]]
    area = sum(region["w"] * region["h"] for region in chart["regions"])
    plot_area = (plot["right"] - plot["left"]) * (plot["bottom"] - plot["top"])
    assert plot_area <= area < plot_area * 1.1


def test_points_and_centroids_follow_the_model(model):
    chart = charts.segment_map(model)
    assert len(chart["points"]) == model.info["n_samples"]
    assert {c["segment"].segment_id for c in chart["centroids"]} == {0, 1, 2, 3, 4}
    assert [item["size"] for item in chart["legend"]] == [segment.size for segment in model.segments]


def test_map_position_maps_and_clamps(model):
    chart = charts.segment_map(model)
    plot = chart["plot"]
    assert charts.map_position(chart, 0, 0) == (plot["left"], plot["bottom"])
    assert charts.map_position(chart, 10_000, 100) == (plot["right"], plot["top"])
    x, y = charts.map_position(chart, 75, 50)
    assert plot["left"] < x < plot["right"] and plot["top"] < y < plot["bottom"]


def test_styles_are_unique_and_keyed_by_segment_id(model):
    styles = charts.segment_styles(model)
    assert len({style.colour for style in styles}) == len(styles)
    assert len({style.shape for style in styles}) == len(styles)
    assert styles[1].segment_id == 1 and styles[1].colour == charts.PALETTE[1]


def test_k_chart_marks_the_chosen_k(model):
    chart = charts.k_selection_chart(model)
    assert [p["k"] for p in chart["silhouette"]] == list(range(2, 11))
    assert chart["chosen"]["k"] == 5
    best = max(chart["silhouette"], key=lambda p: p["value"])
    assert best["y"] == min(p["y"] for p in chart["silhouette"])  # highest value is drawn highest
