"""The fast prediction path gives exactly sklearn's answer, for batches and single rows."""

import os
import signal

import numpy as np
import pytest

from app.models.model import Segment, SegmentationModel
from tests.conftest import KNOWN_POINTS


def test_fast_path_equals_sklearn_on_random_points(model):
    rng = np.random.default_rng(2024)
    # Span and exceed the training range, including the far corners.
    X = np.column_stack([rng.uniform(-50, 300, 200_000), rng.uniform(-50, 200, 200_000)])
    positions, distances = model.predict(X)
    sklearn_labels = model.kmeans.predict(model.scaler.transform(X))
    label_of_position = np.array([segment.kmeans_label for segment in model.segments])
    np.testing.assert_array_equal(label_of_position[positions], sklearn_labels)
    expected = np.linalg.norm(model.scaler.transform(X)[:, None, :] - model.kmeans.cluster_centers_[None], axis=2)
    np.testing.assert_allclose(distances, expected[:, label_of_position], rtol=1e-12, atol=1e-12)


def test_labels_equal_predict_positions_across_chunks_and_threads(model):
    from app.models.model import PREDICT_CHUNK_ROWS

    rng = np.random.default_rng(7)
    # Several chunks and a ragged last one, so the shared thread pool splits the work.
    X = np.column_stack(
        [rng.uniform(-50, 300, 2 * PREDICT_CHUNK_ROWS + 17), rng.uniform(-50, 200, 2 * PREDICT_CHUNK_ROWS + 17)]
    )
    positions, _ = model.predict(X)
    np.testing.assert_array_equal(model.labels(X), positions)
    np.testing.assert_array_equal(model.labels(X[:3]), positions[:3])
    assert model.labels(np.empty((0, 2))).shape == (0,)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_forked_child_predicts_on_threads_of_its_own(model):
    from app.models.model import PREDICT_CHUNK_ROWS

    X = np.random.default_rng(8).uniform([0, 1], [150, 100], (3 * PREDICT_CHUNK_ROWS, 2))
    expected = model.labels(X)  # the parent's pool is running now
    pid = os.fork()
    if pid == 0:  # the parent's pool threads do not exist here; without a pool of its own the child would hang
        signal.alarm(30)
        os._exit(0 if np.array_equal(model.labels(X), expected) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_predict_one_equals_predict_bit_for_bit(model):
    rng = np.random.default_rng(5)
    X = np.column_stack([rng.uniform(0, 200, 2_000), rng.uniform(1, 100, 2_000)])
    positions, distances = model.predict(X)
    for row, position, row_distances in zip(X, positions, distances, strict=True):
        one_position, one_distances = model.predict_one(row.tolist())
        assert one_position == position
        assert one_distances == row_distances.tolist()


def test_known_points_land_in_their_segments(model):
    for point, name in KNOWN_POINTS.items():
        position, _ = model.predict_one(point)
        assert model.segments[position].name == name


def test_segment_lookup_by_stable_id(model):
    assert model.segment(1).name == "VIP / Whale"
    assert model.segment(99) is None


def _tiny_model(centroids: list[list[float]]) -> SegmentationModel:
    segments = [
        Segment(
            segment_id=i,
            name=f"S{i}",
            kmeans_label=i,
            levels={},
            description="",
            strategy=[],
            characteristics=[],
            centroid={},
            size=1,
            share=1 / len(centroids),
            stats={},
            distance_p95=1.0,
        )
        for i in range(len(centroids))
    ]
    return SegmentationModel(["annual_income", "spending_score"], [0.0, 0.0], [1.0, 1.0], centroids, segments)


def test_exact_ties_go_to_the_first_segment_like_argmin():
    model = _tiny_model([[0.0, 5.0], [1.0, 0.0], [-1.0, 0.0]])
    X = np.array([[0.0, 0.0], [0.0, 2.5], [3.0, 0.0], [-3.0, 0.0]])
    positions, distances = model.predict(X)
    assert positions.tolist() == [1, 0, 1, 2]  # (0, 0) is exactly as far from segment 1 as from segment 2
    assert positions.tolist() == np.argmin(distances, axis=1).tolist()
    assert model.labels(X).tolist() == positions.tolist()
    assert [model.predict_one(row)[0] for row in X.tolist()] == positions.tolist()


def test_predict_rejects_wrong_shapes(model):
    with pytest.raises(ValueError, match="shape"):
        model.predict(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="shape"):
        model.labels(np.zeros(3))


def _assert_same_scores(one, many, row: int) -> None:
    for field in ("positions", "runner_up", "is_atypical"):
        assert getattr(one, field)[0] == getattr(many, field)[row], field
    for field in ("distances", "nearest", "runner_up_distance", "confidence"):
        np.testing.assert_allclose(getattr(one, field)[0], getattr(many, field)[row], rtol=1e-12, err_msg=field)
    np.testing.assert_array_equal(one.out_of_range[0], many.out_of_range[row])
    assert one.any_out_of_range[0] == many.any_out_of_range[row] == many.out_of_range[row].any()


def test_score_one_equals_score_row_for_row(model):
    rng = np.random.default_rng(11)
    low, high = model.accepted_range
    points = np.vstack(
        [
            rng.uniform([0, 1], [200, 100], (2_000, 2)),  # inside and beyond the income range
            [[s.centroid[f] for f in model.features] for s in model.segments],  # exactly at each centroid
            [low, high, [low[0] - 0.01, 50], [high[0] + 0.01, 50], [10_000, 100], [0, 1]],  # range edges
        ]
    )
    many = model.score(points)
    assert many.is_atypical.any() and not many.is_atypical.all()
    assert many.out_of_range.any() and not many.out_of_range.all()
    np.testing.assert_array_equal(many.any_out_of_range, many.out_of_range.any(axis=1))
    for row, values in enumerate(points.tolist()):
        _assert_same_scores(model.score_one(values), many, row)


def test_score_flags_follow_their_rules(model):
    vip = model.segment(1)
    centre = [vip.centroid[f] for f in model.features]
    scores = model.score(np.array([centre, [centre[0] + 30, 99.0], [centre[0], centre[1] - 25]]))
    assert scores.positions.tolist() == [model.segments.index(vip)] * 3
    assert scores.confidence[0] == pytest.approx(1.0)
    # Further out along VIP's own direction is not atypical; back towards the middle on spending is.
    assert scores.is_atypical.tolist() == [False, False, True]
    assert not scores.out_of_range.any()
