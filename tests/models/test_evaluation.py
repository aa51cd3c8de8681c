"""Evaluation helpers used by the notebooks: algorithm comparison, stability, decision grid, outliers."""

import numpy as np
import pandas as pd
import pytest

from app.models.evaluation import compare_algorithms, stability
from app.utils.stats import iqr_outliers


@pytest.fixture(scope="module")
def Z(default_data):
    X = pd.read_csv(default_data)[["Annual Income (k$)", "Spending Score (1-100)"]].to_numpy(dtype=float)
    return (X - X.mean(axis=0)) / X.std(axis=0)


def test_compare_algorithms_scores_each_on_the_same_data(Z):
    rows = compare_algorithms(Z, 5)
    assert [row["algorithm"] for row in rows] == ["KMeans", "Agglomerative (Ward)", "Gaussian Mixture"]
    for row in rows:
        assert -1 <= row["silhouette"] <= 1
        assert row["davies_bouldin"] > 0 and row["calinski_harabasz"] > 0
    kmeans = rows[0]
    assert kmeans["silhouette"] >= 0.5  # the well-separated default data


@pytest.mark.slow
def test_stability_is_high_for_real_structure_and_low_for_noise(Z):
    stable = stability(Z, 5, seeds=range(4), n_bootstrap=4)
    assert len(stable.seed_ari) == 4 and len(stable.bootstrap_ari) == 4
    assert stable.min_ari > 0.9
    noise = np.random.default_rng(0).uniform(size=(200, 2))
    unstable = stability(noise, 5, seeds=range(4), n_bootstrap=4)
    assert unstable.min_ari < stable.min_ari


def test_decision_grid_matches_predict(model):
    xs, ys = np.linspace(0, 150, 7), np.linspace(1, 100, 5)
    grid = model.decision_grid(xs, ys)
    assert grid.shape == (5, 7)
    for row, y in enumerate(ys):
        for column, x in enumerate(xs):
            assert grid[row, column] == model.predict_one([x, y])[0]


def test_iqr_outliers():
    values = np.array([10, 11, 12, 13, 14, 15, 100, -50])
    assert iqr_outliers(values).tolist() == [False] * 6 + [True, True]
    assert not iqr_outliers(np.arange(100)).any()
