"""Descriptive names for any feature set: what sets a centroid apart, unique, and blind to the KMeans label order."""

import itertools

import numpy as np
import pytest

from app.models.features import Feature
from app.models.naming import AVERAGE_NAME, FIRST_DESCRIPTIVE_ID, name_segments
from app.models.naming.descriptive import descriptive_names, numbered

NOUNS = ["Income", "Visits", "Tenure", "Basket", "Returns"]
SPECS = [Feature.from_dict({"name": noun.lower(), "label": noun}) for noun in NOUNS]
FEATURES = [spec.name for spec in SPECS]


def _name(z_rows, specs=SPECS, **kwargs):
    """Names of standardized centroids (mean 0, spread 1), by row."""
    z = np.asarray(z_rows, dtype=float)
    d = z.shape[1]
    named = name_segments(z, FEATURES[:d], np.zeros(d), np.ones(d), specs=specs[:d], **kwargs)
    return [segment.name for segment in sorted(named, key=lambda segment: segment.kmeans_label)]


def test_three_features_are_named_by_their_levels():
    names = _name([(1.2, -0.9, 0.1), (-1.0, 1.1, 0.8), (0.2, -0.3, 0.4)])
    assert names == ["High Income · Low Visits", "Low Income · High Visits · High Tenure", AVERAGE_NAME]


def test_five_features_cite_the_three_farthest_in_feature_order():
    names = _name([(0.6, -2.0, 0.0, 1.4, -0.9), (0.0, 0.0, 0.0, 0.0, -3.0)])
    # Income (0.6) is the nearest of the four standing features: left out; the rest read in the features' order.
    assert names == ["Low Visits · High Basket · Low Returns", "Low Returns"]


def test_an_average_centroid_is_average_on_every_feature():
    assert _name([(0.4, -0.4, 0.0, 0.5, -0.5), (2.0, 0.0, 0.0, 0.0, 0.0)]) == [AVERAGE_NAME, "High Income"]


def test_ids_start_after_the_archetypes_for_other_features():
    z = np.array([(1.0, 0.0, 0.0), (-1.0, 0.0, 0.0)])
    named = name_segments(z, FEATURES[:3], np.zeros(3), np.ones(3), specs=SPECS[:3])
    assert sorted(segment.segment_id for segment in named) == [FIRST_DESCRIPTIVE_ID, FIRST_DESCRIPTIVE_ID + 1]
    assert all(segment.levels.keys() == set(FEATURES[:3]) for segment in named)


def test_very_tells_apart_two_centroids_on_one_side():
    assert _name([(1.0, 0.0, 0.0), (2.2, 0.0, 0.0)]) == ["High Income", "Very High Income"]


def test_a_fourth_standing_feature_tells_apart_centroids_that_share_three():
    names = _name([(1.0, 1.0, 1.0, 0.0, 0.0), (1.0, 1.0, 1.0, -0.9, 0.0)])
    assert names == ["High Income · High Visits · High Tenure", "High Income · High Visits · High Tenure · Low Basket"]


def test_a_number_tells_apart_what_levels_cannot_in_order_of_position():
    # Same levels everywhere; they differ most on visits, so the one with fewer visits keeps the bare name.
    names = _name([(1.0, 0.9, 0.0), (1.1, 0.6, 0.1), (1.0, 1.3, 0.0)])
    assert names == ["High Income · High Visits (2)", "High Income · High Visits", "High Income · High Visits (3)"]


def test_a_name_already_taken_is_not_given_again():
    z = np.array([(1.0, 0.0, 0.0), (0.0, 0.0, 0.0)])
    names = descriptive_names(z, SPECS[:3], taken={"High Income", AVERAGE_NAME})
    assert names == ["High Income (2)", f"{AVERAGE_NAME} (2)"]


def test_numbered_skips_a_name_someone_holds_literally():
    names = numbered(["A", "A", "A (2)"], np.array([[0.0], [1.0], [2.0]]), taken=set())
    assert names == ["A", "A (3)", "A (2)"]


@pytest.mark.parametrize("seed", range(20))
def test_names_are_unique_and_follow_centroids_in_any_label_order(seed):
    rng = np.random.default_rng(seed)
    d, k = int(rng.integers(2, 6)), int(rng.integers(3, 10))
    # Coarse positions make clashes common, so the disambiguation is exercised.
    z = rng.choice([-2.0, -1.0, 0.0, 1.0, 2.0], size=(k, d)) + rng.normal(0, 0.05, size=(k, d))
    names = _name(z)
    assert len(set(names)) == k
    for order in itertools.islice(itertools.permutations(range(k)), 1, 6):
        assert _name(z[list(order)]) == [names[i] for i in order]


def test_the_generic_strategy_names_what_sets_the_segment_apart():
    z = np.array([(1.0, -1.0, 0.0), (0.0, 0.0, 0.0)])
    named = sorted(
        name_segments(z, FEATURES[:3], np.zeros(3), np.ones(3), specs=SPECS[:3]), key=lambda s: s.kmeans_label
    )
    assert "high income and low visits" in named[0].strategy[1]
    assert named[0].description == "Customers with high income, low visits, moderate tenure."
    assert "profile" in named[1].strategy[1]


def test_income_and_spending_keep_the_archetypes_unless_told_otherwise():
    z = np.array([(1.0, 1.0), (-1.0, -1.0)])
    features = ["annual_income", "spending_score"]
    auto = name_segments(z, features, np.zeros(2), np.ones(2))
    assert {segment.name for segment in auto} == {"VIP / Whale", "Budget Conscious"}
    forced = name_segments(z, features, np.zeros(2), np.ones(2), vocabulary="descriptive")
    assert {segment.name for segment in forced} == {"High Income · High Spending", "Low Income · Low Spending"}
    assert min(segment.segment_id for segment in forced) == FIRST_DESCRIPTIVE_ID


def test_an_unknown_vocabulary_is_refused():
    with pytest.raises(ValueError, match="vocabulary"):
        name_segments(np.zeros((2, 2)), FEATURES[:2], np.zeros(2), np.ones(2), specs=SPECS[:2], vocabulary="poetry")


def test_income_and_spending_among_other_features_keep_an_archetype_only_where_the_others_are_moderate():
    # Income, spending and basket size: an archetype says nothing of the basket, so it names only clusters moderate
    # there; a cluster that stands out on its basket is named for it (the audit's "Average Customer" at +1.2 sd).
    specs = [
        Feature.from_dict({"name": "annual_income", "label": "Income"}),
        Feature.from_dict({"name": "spending_score", "label": "Spending"}),
        Feature.from_dict({"name": "basket", "label": "Basket"}),
    ]
    z = np.array([(0.0, 0.0, 1.2), (1.0, 1.0, 0.1), (-1.0, -1.0, 0.0)])
    named = sorted(
        name_segments(z, [s.name for s in specs], np.zeros(3), np.ones(3), specs=specs), key=lambda s: s.kmeans_label
    )
    assert [segment.name for segment in named] == ["High Basket", "VIP / Whale", "Budget Conscious"]
    assert named[0].segment_id >= FIRST_DESCRIPTIVE_ID
    assert "basket" in named[0].description.lower()
