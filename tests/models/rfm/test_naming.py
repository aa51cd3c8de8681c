"""RFM names: the marketers' vocabulary, from the centroids' standing, unique in a version."""

import re

import numpy as np
import pytest

from app.models.rfm.naming import NAMES, rfm_names, rfm_scores

# recency_days, frequency, monetary
CHAMPIONS, NEW, AT_RISK, LOST = [10, 21, 5900], [15, 2, 140], [175, 10, 1900], [314, 1.5, 38]


def test_the_four_planted_shapes_get_their_names():
    names = [name for name, _, _ in rfm_names(np.array([CHAMPIONS, NEW, AT_RISK, LOST]))]
    assert names == ["Champions", "New Customers", "At Risk", "Lost"]


def test_names_follow_the_centroids_not_their_order():
    names = [name for name, _, _ in rfm_names(np.array([LOST, AT_RISK, CHAMPIONS, NEW]))]
    assert names == ["Lost", "At Risk", "Champions", "New Customers"]


def test_a_big_spender_gone_longest_is_cant_lose_them():
    centroids = np.array([CHAMPIONS, NEW, AT_RISK, LOST, [60, 8, 1500], [330, 15, 4000]])
    names = [name for name, _, _ in rfm_names(centroids)]
    assert names[5] == "Can't Lose Them"
    assert len(set(names)) == len(names)


def test_each_name_has_a_description_and_three_strategies():
    for name, description, strategy in rfm_names(np.array([CHAMPIONS, NEW, AT_RISK, LOST])):
        assert name in {entry.name for entry in NAMES}
        assert description
        assert len(strategy) == 3


@pytest.mark.parametrize("k", [2, 5, 8, 9, 12])
def test_names_are_unique_for_any_k(k):
    centroids = np.random.default_rng(k).uniform([1, 1, 10], [365, 30, 5000], (k, 3))
    names = [name for name, _, _ in rfm_names(centroids)]
    assert len(set(names)) == k
    assert sum(name in {entry.name for entry in NAMES} for name in names) == min(k, len(NAMES))
    # Past eight, a repeated name is numbered as the other vocabularies number theirs: "At Risk (2)".
    extra = [name for name in names if name not in {entry.name for entry in NAMES}]
    assert all(
        re.fullmatch(r"(?:" + "|".join(map(re.escape, (e.name for e in NAMES))) + r") \(\d+\)", n) for n in extra
    )


def test_scores_put_the_best_centroid_at_one():
    scores = rfm_scores(np.array([CHAMPIONS, LOST]))
    assert scores.tolist() == [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]


def test_a_shape_other_than_three_columns_is_refused():
    with pytest.raises(ValueError, match="recency_days, frequency, monetary"):
        rfm_names(np.zeros((3, 2)))
