"""Segment naming depends on where centroids lie, never on their label order."""

import itertools

import numpy as np
import pytest

from app.models.naming import FIRST_DESCRIPTIVE_ID, level_of, name_segments

FEATURES = ["annual_income", "spending_score"]
MEAN = np.array([60.0, 50.0])
STD = np.array([26.0, 26.0])
# (income, score) centroids of the public dataset's five groups.
PUBLIC_CENTROIDS = {
    "Average Customer": (55.3, 49.5),
    "VIP / Whale": (86.5, 82.1),
    "High Earner Saver": (88.2, 17.1),
    "Budget Conscious": (26.3, 20.9),
    "Young Trendsetter": (25.7, 79.4),
}
EXPECTED_IDS = {
    "Average Customer": 0,
    "VIP / Whale": 1,
    "Young Trendsetter": 2,
    "High Earner Saver": 3,
    "Budget Conscious": 4,
}


@pytest.mark.parametrize("order", list(itertools.permutations(range(5)))[::7])
def test_names_follow_centroids_in_any_label_order(order):
    names = list(PUBLIC_CENTROIDS)
    centroids = np.array([PUBLIC_CENTROIDS[names[i]] for i in order])
    named = name_segments(centroids, FEATURES, MEAN, STD)
    by_label = {segment.kmeans_label: segment for segment in named}
    for label, i in enumerate(order):
        assert by_label[label].name == names[i]
        assert by_label[label].segment_id == EXPECTED_IDS[names[i]]


def test_each_named_segment_has_advice():
    named = name_segments(np.array(list(PUBLIC_CENTROIDS.values())), FEATURES, MEAN, STD)
    for segment in named:
        assert segment.description
        assert len(segment.strategy) >= 3
        assert len(segment.characteristics) == 2


def test_unmatched_centroids_get_unique_descriptive_names_and_high_ids():
    centroids = np.array([*PUBLIC_CENTROIDS.values(), (95.0, 50.0), (98.0, 52.0), (20.0, 50.0)])
    named = name_segments(centroids, FEATURES, MEAN, STD)
    names = [segment.name for segment in named]
    assert len(set(names)) == len(names) == 8
    extra = [segment for segment in named if segment.segment_id >= FIRST_DESCRIPTIVE_ID]
    assert sorted(segment.segment_id for segment in extra) == [5, 6, 7]
    by_income = {round(float(centroids[segment.kmeans_label][0])): segment.name for segment in extra}
    # Named by what sets them apart; the two high-income ones numbered in order of income, never of label.
    assert by_income == {20: "Low Income", 95: "High Income", 98: "High Income (2)"}
    assert all("Survey" in segment.strategy[0] for segment in extra)


def test_two_centroids_of_one_kind_get_one_archetype():
    centroids = np.array([(90.0, 85.0), (110.0, 95.0), (55.0, 50.0)])
    named = name_segments(centroids, FEATURES, MEAN, STD)
    names = sorted(segment.name for segment in named)
    assert names == ["Average Customer", "High Income · High Spending", "VIP / Whale"]
    vip = next(segment for segment in named if segment.name == "VIP / Whale")
    assert vip.kmeans_label == 0  # the closer one to the VIP prototype


def test_other_features_get_descriptive_names():
    centroids = np.array([(25.0, 20.0), (60.0, 80.0)])
    named = name_segments(centroids, ["age", "spending_score"], np.array([40.0, 50.0]), np.array([12.0, 26.0]))
    assert [segment.name for segment in named] == ["Low Age · Low Spending", "High Age · High Spending"]
    assert [segment.segment_id for segment in named] == [5, 6]


@pytest.mark.parametrize(
    ("z", "level"), [(-2.0, "low"), (-0.51, "low"), (0.0, "moderate"), (0.5, "moderate"), (1, "high")]
)
def test_level_of(z, level):
    assert level_of(z) == level
