"""Feature importance recorded at training: one share per feature, noise last, centroids in standard deviations."""

import numpy as np
import pandas as pd
import pytest

from app.models.features import Feature
from app.models.importance import permutation_importance, standardized_centroids
from app.models.model import SegmentationModel
from app.models.training import fit_model
from tests.models.three_features import SPECS, write_customers

NOISE = Feature.from_dict({"name": "noise", "column": "Noise", "label": "Noise"})


@pytest.fixture(scope="module")
def with_noise(tmp_path_factory: pytest.TempPathFactory) -> tuple[SegmentationModel, np.ndarray]:
    """A k=3 model of the three planted features plus a column of pure noise, and its training data."""
    frame = pd.read_csv(write_customers(tmp_path_factory.mktemp("noise") / "customers.csv"))
    planted = frame[[spec.source_column for spec in SPECS]].to_numpy(dtype=np.float64)
    noise = np.random.default_rng(3).uniform(0, 100, len(planted))
    X = np.column_stack([planted, noise])
    specs = [*SPECS, NOISE]
    return fit_model(X, [spec.name for spec in specs], specs=specs, k=3, sweep=False), X


def test_importance_has_one_share_per_feature_most_important_first(with_noise) -> None:
    model, _ = with_noise
    recorded = model.info["importance"]
    items = recorded["features"]
    assert sorted(item["feature"] for item in items) == sorted(model.features)
    shares = [item["importance"] for item in items]
    assert shares == sorted(shares, reverse=True)
    assert all(0 <= share <= 1 for share in shares) and all(item["std"] >= 0 for item in items)
    assert {item["label"] for item in items} == {spec.label for spec in model.feature_specs}


def test_a_feature_of_pure_noise_ranks_lowest(with_noise) -> None:
    model, _ = with_noise
    items = model.info["importance"]["features"]
    assert items[-1]["feature"] == "noise"
    assert items[-1]["importance"] < items[0]["importance"] / 2


def test_importance_is_seeded_and_measures_the_models_own_assignment(with_noise) -> None:
    model, X = with_noise
    first = permutation_importance(model, X, seed=5)
    assert first == permutation_importance(model, X, seed=5)
    # Shuffling a column the model ignores moves nobody: a constant column shuffled stays the same.
    constant = X.copy()
    constant[:, 3] = 50.0
    unchanged = permutation_importance(model, constant, seed=5)
    assert next(item for item in unchanged["features"] if item["feature"] == "noise")["importance"] == 0.0


def test_each_segments_centroid_is_recorded_in_standard_deviations(with_noise) -> None:
    model, X = with_noise
    recorded = model.info["importance"]["segments"]
    assert recorded == standardized_centroids(model)
    seen = model.to_model_space(X)
    for segment in model.segments:
        members = seen[model.labels(X) == model.segments.index(segment)]
        expected = (members.mean(axis=0) - seen.mean(axis=0)) / seen.std(axis=0)
        position = np.array([recorded[str(segment.segment_id)][name] for name in model.features])
        assert np.allclose(position, expected, atol=0.05)
