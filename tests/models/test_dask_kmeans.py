"""KMeans on Dask: StandardScaler's moments, a uniform sample, and scikit-learn's Lloyd iterations, by partition."""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

from app.models.dask_kmeans import (
    kmeans_plusplus_seeds,
    lloyd,
    nearest,
    scaler_from_moments,
    summarise,
)
from app.models.dask_source import open_dataset
from app.models.features import FEATURES, Feature, to_model_space

SPECS = [FEATURES["annual_income"], FEATURES["spending_score"]]


def blobs(rows: int, seed: int = 0) -> np.ndarray:
    """Customers in five overlapping groups, in the default features' ranges."""
    rng = np.random.default_rng(seed)
    centres = np.array([[25, 20], [25, 80], [55, 50], [90, 15], [90, 85]], dtype=float)
    X = centres[rng.integers(0, 5, rows)] + rng.normal(0, 12, (rows, 2))
    return np.clip(X, [0, 1], [200, 100]).round(2)


def write_parquet(path: Path, X: np.ndarray, row_group: int) -> Path:
    """X as a Parquet file of many row groups (so many partitions)."""
    table = pa.table({"customer_id": np.arange(1, len(X) + 1), "annual_income": X[:, 0], "spending_score": X[:, 1]})
    pq.write_table(table, path, row_group_size=row_group)
    return path


@pytest.fixture
def many_parts(monkeypatch):
    """Partitions of 500 rows, so a few thousand rows make several."""
    monkeypatch.setattr("app.models.dask_source.PARQUET_PART_ROWS", 500)


def test_lloyd_converges_to_scikit_learns_labels_from_the_same_centroids(dask_client, tmp_path, many_parts):
    X = blobs(4_000)
    reader, parts = open_dataset(write_parquet(tmp_path / "c.parquet", X, row_group=500), SPECS)
    assert len(parts) == 8
    summary = summarise(dask_client, reader, parts, sample_size=1_000, seed=1)
    scaler = scaler_from_moments(summary.seen, summary.X)
    Z = StandardScaler().fit_transform(X)
    init = kmeans_plusplus_seeds(scaler.transform(summary.X), 5, seed=3)

    result = lloyd(dask_client, reader, parts, mean=scaler.mean_, scale=scaler.scale_, init=init, mean_variance=1.0)

    expected = KMeans(n_clusters=5, init=init, n_init=1, algorithm="lloyd").fit(Z)
    labels, _ = nearest(Z, result.centers)
    assert np.array_equal(labels, expected.labels_)
    assert result.n_iter == expected.n_iter_ and result.n_iter > 1
    np.testing.assert_allclose(result.centers, expected.cluster_centers_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(result.final.inertia, expected.inertia_, rtol=1e-9)
    assert result.final.counts.tolist() == np.bincount(expected.labels_, minlength=5).tolist()


def test_lloyd_stops_at_max_iter(dask_client, tmp_path, many_parts):
    X = blobs(2_000, seed=5)
    reader, parts = open_dataset(write_parquet(tmp_path / "c.parquet", X, row_group=500), SPECS)
    scaler = StandardScaler().fit(X)
    init = scaler.transform(X[:4])

    result = lloyd(dask_client, reader, parts, mean=scaler.mean_, scale=scaler.scale_, init=init, max_iter=2)

    expected = KMeans(n_clusters=4, init=init, n_init=1, algorithm="lloyd", max_iter=2).fit(scaler.transform(X))
    assert result.n_iter == 2
    np.testing.assert_allclose(result.centers, expected.cluster_centers_, rtol=1e-9, atol=1e-12)


def test_scaler_from_moments_is_standard_scalers(dask_client, tmp_path, many_parts):
    X = blobs(3_000, seed=2) * [1_000, 1]  # large values: a naive sum of squares would lose digits
    logged = [Feature("annual_income", "Income", "Income", "$", 0, 1e9, transform="log1p"), SPECS[1]]
    reader, parts = open_dataset(write_parquet(tmp_path / "c.parquet", X, row_group=400), logged)

    summary = summarise(dask_client, reader, parts, sample_size=100, seed=0)
    scaler = scaler_from_moments(summary.seen, summary.X)

    expected = StandardScaler().fit(to_model_space(X, logged))
    np.testing.assert_allclose(scaler.mean_, expected.mean_, rtol=1e-12)
    np.testing.assert_allclose(scaler.scale_, expected.scale_, rtol=1e-10)
    np.testing.assert_allclose(scaler.var_, expected.var_, rtol=1e-10)
    assert scaler.n_samples_seen_ == expected.n_samples_seen_ == 3_000
    np.testing.assert_allclose(summary.minimum, X.min(axis=0))
    np.testing.assert_allclose(summary.maximum, X.max(axis=0))


def test_sample_is_seeded_uniform_and_of_the_data(dask_client, tmp_path, many_parts):
    X = blobs(5_000, seed=4)
    X[:, 0] = np.arange(5_000)  # each row told apart by its income
    reader, parts = open_dataset(write_parquet(tmp_path / "c.parquet", X, row_group=500), SPECS)

    first = summarise(dask_client, reader, parts, sample_size=1_000, seed=7).X
    again = summarise(dask_client, reader, parts, sample_size=1_000, seed=7).X
    other = summarise(dask_client, reader, parts, sample_size=1_000, seed=8).X

    assert len(first) == 1_000 and len(np.unique(first[:, 0])) == 1_000
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    rows = first[:, 0].astype(int)
    np.testing.assert_array_equal(X[rows], first)
    # Each of the ten partitions holds a tenth of the rows: about 100 of the sample each (sd ~9.5).
    per_part = np.bincount(rows // 500, minlength=10)
    assert per_part.min() > 55 and per_part.max() < 145, per_part


def test_sample_smaller_than_asked_is_every_row(dask_client, tmp_path, many_parts):
    X = blobs(700, seed=6)
    reader, parts = open_dataset(write_parquet(tmp_path / "c.parquet", X, row_group=300), SPECS)
    summary = summarise(dask_client, reader, parts, sample_size=10_000, seed=0)
    assert summary.n_kept == summary.n_input == 700
    assert sorted(map(tuple, summary.X)) == sorted(map(tuple, X))
