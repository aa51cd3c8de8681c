"""Maps of any model: the plane of 3+ features and any pair of features agree with the model, dot for dot."""

import re

import numpy as np
import pytest

from app.models import projection
from app.models.training import train
from app.models.versions.store import load_model
from app.web.charts import map_frame, pair_map, segment_map
from tests.models.three_features import SPECS, write_customers


@pytest.fixture(scope="module")
def three(three_feature_dir):
    """The 3-feature model (log income, visits, tenure), loaded from its verified version."""
    return load_model(three_feature_dir)


def _polygon(path: str) -> np.ndarray:
    return np.array([[float(v) for v in pair.split(",")] for pair in path.strip("MZ").split("L")])


def _area(polygon: np.ndarray) -> float:
    x, y = polygon[:, 0], polygon[:, 1]
    return abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))) / 2


def _to_data(chart: dict, px: float, py: float) -> tuple[float, float]:
    domain, plot = chart["domain"], chart["plot"]
    x = domain["x_min"] + (px - plot["left"]) / (plot["right"] - plot["left"]) * (domain["x_max"] - domain["x_min"])
    y = domain["y_min"] + (plot["bottom"] - py) / (plot["bottom"] - plot["top"]) * (domain["y_max"] - domain["y_min"])
    return x, y


def _plot_area(chart: dict) -> float:
    plot = chart["plot"]
    return (plot["right"] - plot["left"]) * (plot["bottom"] - plot["top"])


def _inner_points(chart: dict):
    """(segment id, data point) pairs well inside each region polygon."""
    for region in chart["regions"]:
        polygon = _polygon(region["path"])
        centre = polygon.mean(axis=0)
        for corner in polygon:
            yield region["segment_id"], _to_data(chart, *(centre + 0.9 * (corner - centre)))


def _segment_id(model, position: int) -> int:
    return model.segments[position].segment_id


def test_a_model_of_three_features_is_mapped_on_its_plane(three):
    chart = segment_map.segment_map(three)
    assert chart["kind"] == "projection"
    assert chart["x_label"] == "Axis 1" and chart["y_label"] == "Axis 2"
    assert chart["axes"] == projection.axis_texts(three)
    assert all("Income" in text and "Visits" in text and "Tenure" in text for text in chart["axes"])
    assert len(chart["points"]) == three.info["n_samples"]
    # One unit means the same on both axes, so distances on the plane are drawn as they are.
    domain, plot = chart["domain"], chart["plot"]
    per_px_x = (domain["x_max"] - domain["x_min"]) / (plot["right"] - plot["left"])
    per_px_y = (domain["y_max"] - domain["y_min"]) / (plot["bottom"] - plot["top"])
    assert per_px_x == pytest.approx(per_px_y, rel=1e-9)


def test_plane_regions_tile_the_plot_and_hold_customers_lying_on_the_plane(three):
    chart = segment_map.segment_map(three)
    areas = [_area(_polygon(region["path"])) for region in chart["regions"]]
    assert sum(areas) == pytest.approx(_plot_area(chart), rel=1e-4)
    fitted = projection.Projection.of(three)
    centres = projection.segment_centroids(three)
    checked = 0
    for segment_id, point in _inner_points(chart):
        z = fitted.center + np.array(point) @ fitted.components
        assert _segment_id(three, int(np.linalg.norm(centres - z, axis=1).argmin())) == segment_id
        checked += 1
    assert checked >= 9


def test_plane_dots_and_centroids_sit_where_the_projection_places_them(three):
    chart = segment_map.segment_map(three)
    sample = np.asarray(three.info["map_sample"])
    placed = projection.place_customers(three, sample)
    for point, where in zip(chart["points"][:20], placed[:20], strict=False):
        expected = segment_map.map_position(chart, *where)
        assert (point["x"], point["y"]) == (expected["x"], expected["y"])
    for mark, segment, where in zip(
        chart["centroids"], three.segments, projection.placed_centroids(three), strict=True
    ):
        assert mark["segment"] is segment
        assert (mark["x"], mark["y"]) == pytest.approx(tuple(segment_map.map_position(chart, *where).values())[:2])


def test_a_customer_is_placed_on_the_plane_as_the_projection_says(three):
    chart = segment_map.segment_map(three)
    customer = {"income": 70_000.0, "visits": 5.0, "tenure": 3.0}
    where = projection.place_customers(three, [[70_000.0, 5.0, 3.0]])[0]
    assert segment_map.place_on_map(chart, three, customer) == segment_map.map_position(chart, *where)


def test_an_untransformed_pair_has_exact_regions_at_the_held_values(three):
    chart = segment_map.segment_map(three, ("visits", "tenure"))
    assert chart["kind"] == "pair" and chart["exact"]
    assert chart["x_label"] == "Visits (per month)" and chart["y_label"] == "Tenure (years)"
    assert sum(_area(_polygon(region["path"])) for region in chart["regions"]) == pytest.approx(_plot_area(chart))
    held = pair_map.held_values(three)
    assert held[0] == pytest.approx(float(np.median(np.asarray(three.info["map_sample"])[:, 0])))
    assert "Income" in chart["note"] and "median" in chart["note"]
    for segment_id, (visits, tenure) in _inner_points(chart):
        position, _ = three.predict_one([held[0], visits, tenure])
        assert _segment_id(three, position) == segment_id


def test_a_pair_with_a_log_feature_is_drawn_on_a_grid_that_agrees_with_the_model(three):
    chart = segment_map.segment_map(three, ("visits", "income"))
    assert chart["kind"] == "pair" and not chart["exact"]
    held = pair_map.held_values(three)
    runs = 0
    area = 0.0
    for region in chart["regions"]:
        for left, top, width, height in re.findall(r"M([\d.]+),([\d.]+)h([\d.]+)v([\d.]+)h-[\d.]+Z", region["path"]):
            left, top, width, height = map(float, (left, top, width, height))
            area += width * height
            # The centre of the run's first cell is that segment's, with tenure held at its median.
            cell_w = (chart["plot"]["right"] - chart["plot"]["left"]) / pair_map.GRID_CELLS[0]
            visits, income = _to_data(chart, left + cell_w / 2, top + height / 2)
            position, _ = three.predict_one([income, visits, held[2]])
            assert _segment_id(three, position) == region["segment_id"]
            runs += 1
    assert runs > pair_map.GRID_CELLS[1]
    assert area == pytest.approx(_plot_area(chart), rel=1e-6)


def test_pair_dots_show_each_customers_own_values_and_segment(three):
    chart = segment_map.segment_map(three, ("tenure", "visits"))
    sample = np.asarray(three.info["map_sample"])
    positions = three.labels(sample)
    for point, row, position in zip(chart["points"][:25], sample[:25], positions[:25], strict=True):
        expected = segment_map.map_position(chart, row[2], row[1])
        assert (point["x"], point["y"]) == (expected["x"], expected["y"])
        assert point["style"].segment_id == _segment_id(three, int(position))


def test_views_are_checked_and_the_default_model_keeps_its_decision_map(three, model):
    assert segment_map.valid_view(three, "visits", "income") == ("visits", "income")
    assert segment_map.valid_view(three, "visits", "visits") is None
    assert segment_map.valid_view(three, "visits", "age") is None
    assert segment_map.valid_view(three, None, None) is None
    assert segment_map.default_view(three) is None
    assert segment_map.segment_map(model)["kind"] == "decision"
    assert segment_map.segment_map(model, ("annual_income", "spending_score"))["kind"] == "decision"
    swapped = segment_map.segment_map(model, ("spending_score", "annual_income"))
    assert swapped["kind"] == "pair" and swapped["x_label"] == "Spending Score (1-100) (1 to 100)"


def test_a_three_feature_model_without_a_projection_falls_back_to_its_first_pair(three):
    older = type(three)(
        three.features,
        three.mean,
        three.scale,
        three.cluster_centers,
        three.segments,
        {key: value for key, value in three.info.items() if key != "projection"},
    )
    assert segment_map.default_view(older) == ("income", "visits")
    assert segment_map.segment_map(older)["kind"] == "pair"


def test_score_page_points_take_full_rows_on_any_map(three, model):
    chart = segment_map.segment_map(three)
    points = segment_map.customer_points(chart, three, [(70_000.0, 5.0, 3.0, 1)])
    where = segment_map.place_on_map(chart, three, {"income": 70_000.0, "visits": 5.0, "tenure": 3.0})
    assert (points[0]["x"], points[0]["y"]) == (where["x"], where["y"])
    default = segment_map.segment_map(model)
    assert (
        segment_map.customer_points(default, model, [(75.0, 50.0, 0)])[0]["x"]
        == (segment_map.map_position(default, 75.0, 50.0)["x"])
    )


@pytest.mark.parametrize(
    ("ticks", "labels"),
    [
        ([0.0, 25.0, 50.0], ["0", "25", "50"]),
        ([50_000.0, 100_000.0, 150_000.0], ["50k", "100k", "150k"]),
        ([-1.0, -0.5, 0.0, 0.5], ["−1.0", "−0.5", "0.0", "0.5"]),
        ([0.25, 0.5], ["0.25", "0.50"]),
    ],
)
def test_tick_labels_stay_short(ticks, labels):
    assert map_frame.tick_labels(ticks) == labels


def test_two_other_features_get_a_pair_map_and_no_plane(tmp_path):
    two = train(write_customers(tmp_path / "c.csv"), output_dir=tmp_path / "m", specs=SPECS[:2], k=3).model
    assert "projection" not in two.info
    chart = segment_map.segment_map(two)
    # Income is clustered on its log, so the boundaries curve: a grid, with nothing held (there is no other feature).
    assert chart["kind"] == "pair" and not chart["exact"] and chart["note"] is None
    assert (chart["x_feature"], chart["y_feature"]) == ("income", "visits")


def test_a_centres_description_writes_units_after_numbers_but_no_scales_range(model):
    from app.models.features import FEATURES

    income, spending = FEATURES["annual_income"], FEATURES["spending_score"]
    assert map_frame.value_text(60, income) == "60 k$"
    assert map_frame.value_text(51, spending) == "51"  # not "51 1 to 100"
    described = map_frame.centre_description(model, [income, spending])
    assert "1 to 100" not in described and " k$" in described
