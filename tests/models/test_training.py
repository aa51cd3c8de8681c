"""Training on the default data: five named segments, stable ids across seeds and row order, k selection."""

import json

import numpy as np
import pandas as pd
import pytest

from app.core.errors import InvalidDataset
from app.models import clustering
from app.models.synthetic import generate_customers
from app.models.training import fit_model, train
from app.models.versions.store import VersionStore
from tests.models.three_features import SPECS as THREE
from tests.models.three_features import write_customers

# Public-table sizes of the five groups, by segment name.
TABLE_SIZES = {
    "Average Customer": 81,
    "VIP / Whale": 39,
    "High Earner Saver": 35,
    "Budget Conscious": 23,
    "Young Trendsetter": 22,
}
FEATURES = ["annual_income", "spending_score"]


def _features(source):
    frame = source if isinstance(source, pd.DataFrame) else pd.read_csv(source)
    return frame[["Annual Income (k$)", "Spending Score (1-100)"]].to_numpy(dtype=float)


def test_default_data_gives_five_named_segments(model):
    assert {segment.name: segment.segment_id for segment in model.segments} == {
        "Average Customer": 0,
        "VIP / Whale": 1,
        "Young Trendsetter": 2,
        "High Earner Saver": 3,
        "Budget Conscious": 4,
    }
    for segment in model.segments:
        assert abs(segment.size - TABLE_SIZES[segment.name]) <= 3, segment
    assert sum(segment.size for segment in model.segments) == 200
    assert model.info["metrics"]["silhouette"] >= 0.5


def test_model_info_records_the_evidence(model_dir):
    info = json.loads((model_dir / VersionStore(model_dir).active_version() / "model_info.json").read_text())
    for key in ("version", "trained_at", "algorithm", "n_clusters", "features", "random_state", "n_samples"):
        assert key in info
    assert len(info["data_sha256"]) == 64
    assert set(info["metrics"]) >= {"inertia", "silhouette", "davies_bouldin", "calinski_harabasz"}
    assert [entry["k"] for entry in info["k_selection"]] == list(range(2, 11)) and info["sweep"] is True
    inertias = [entry["inertia"] for entry in info["k_selection"]]
    assert inertias == sorted(inertias, reverse=True)
    assert "artifacts" not in info  # checksums live in manifest.json, which covers this file too
    for segment in info["segments"]:
        assert set(segment) >= {"segment_id", "name", "size", "share", "centroid"}
        assert set(segment["centroid"]) == set(FEATURES)
    assert abs(sum(segment["share"] for segment in info["segments"]) - 1) < 1e-9


def _ids_by_customer(model, X):
    positions, _ = model.predict(X)
    return np.array([model.segments[p].segment_id for p in positions])


@pytest.mark.slow
def test_segment_ids_are_stable_across_seeds_and_row_order(default_data):
    X = _features(default_data)
    reference = fit_model(X, FEATURES, seed=0)
    expected = _ids_by_customer(reference, X)
    labels_seen = set()
    for seed in range(1, 11):
        model = fit_model(X, FEATURES, seed=seed)
        labels_seen.add(tuple(model.kmeans.labels_[:50]))
        np.testing.assert_array_equal(_ids_by_customer(model, X), expected)
    order = np.random.default_rng(3).permutation(len(X))
    shuffled = fit_model(X[order], FEATURES, seed=42)
    np.testing.assert_array_equal(_ids_by_customer(shuffled, X), expected)
    # The raw labels did change between seeds, so the ids really are independent of them.
    assert len(labels_seen) > 1


@pytest.mark.slow
def test_auto_k_picks_five_on_default_data(default_data):
    model = fit_model(_features(default_data), FEATURES, k="auto")
    assert model.n_clusters == 5
    best = max(model.info["k_selection"], key=lambda entry: entry["silhouette"])
    assert best["k"] == 5


def test_other_k_gets_unique_names(default_data):
    model = fit_model(_features(default_data), FEATURES, k=7)
    names = [segment.name for segment in model.segments]
    assert len(set(names)) == 7
    assert {"VIP / Whale", "Budget Conscious", "High Earner Saver", "Young Trendsetter"} <= set(names)
    assert max(segment.segment_id for segment in model.segments) >= 5


@pytest.mark.slow
def test_large_data_uses_samples_for_the_quadratic_parts(monkeypatch):
    # Smaller limits keep the test quick; the mechanism is the same at 1M rows.
    monkeypatch.setattr(clustering, "K_SELECTION_SAMPLE_SIZE", 3_000)
    monkeypatch.setattr(clustering, "SILHOUETTE_SAMPLE_SIZE", 1_000)
    X = _features(generate_customers(8_000, seed=11))
    model = fit_model(X, FEATURES, k=5)
    assert model.info["k_selection_sample_size"] == 3_000
    assert model.info["metrics"]["silhouette_sample_size"] == 1_000
    assert model.info["n_samples"] == len(X) == 8_000
    assert sum(segment.size for segment in model.segments) == 8_000
    assert {segment.segment_id for segment in model.segments} == {0, 1, 2, 3, 4}


def test_fit_model_without_sweep_fits_only_the_asked_k(default_data):
    model = fit_model(_features(default_data), FEATURES, k=5, sweep=False)
    assert model.n_clusters == 5 and len(model.segments) == 5
    assert model.info["sweep"] is False
    assert model.info["k_selection"] == [] and model.info["k_selection_sample_size"] == 0


def test_fit_model_with_auto_k_sweeps_even_without_sweep(default_data):
    model = fit_model(_features(default_data), FEATURES, k="auto", sweep=False)
    assert model.info["sweep"] is True
    assert [entry["k"] for entry in model.info["k_selection"]] == list(range(2, 11))


def _three_customers(rows: int) -> np.ndarray:
    """`rows` rows holding only three distinct customers."""
    return np.array([[20.0, 10.0], [120.0, 90.0], [55.0, 50.0]] * (rows // 3))


def test_train_with_fewer_distinct_customers_than_k_says_so(tmp_path):
    data = tmp_path / "three.csv"
    pd.DataFrame(_three_customers(12), columns=["Annual Income (k$)", "Spending Score (1-100)"]).to_csv(data)
    with pytest.raises(InvalidDataset, match=r"^only 3 distinct customers; k must be at most 3$"):
        train(data, output_dir=tmp_path / "m", k=5)
    assert VersionStore(tmp_path / "m").versions() == []


def test_fit_model_counts_distinct_customers_beyond_the_first_rows():
    # Only three distinct customers in the first 6,000 rows; the last rows bring two more, enough for k=5.
    X = np.vstack([_three_customers(6_000), [[90.0, 20.0], [30.0, 80.0]]])
    assert fit_model(X, FEATURES, k=5, sweep=False).n_clusters == 5
    with pytest.raises(InvalidDataset, match=r"^only 5 distinct customers; k must be at most 5$"):
        fit_model(X, FEATURES, k=6, sweep=False)


def test_fit_model_with_auto_k_sweeps_only_up_to_the_distinct_customers():
    model = fit_model(_three_customers(30), FEATURES, k="auto")
    assert [entry["k"] for entry in model.info["k_selection"]] == [2, 3]
    assert model.n_clusters == 3


def test_auto_k_keeps_segments_the_customers_can_fill():
    # 24 customers in 8 tight triples: silhouette alone picks 8 segments of 3; auto asks for 5 customers a segment.
    centres = np.array([[20.0 + 15 * i, 10.0 + 10 * i] for i in range(8)])
    X = np.repeat(centres, 3, axis=0) + np.tile([[0.0, 0.0], [0.3, 0.0], [0.0, 0.3]], (8, 1))
    model = fit_model(X, FEATURES, k="auto")
    silhouettes = {entry["k"]: entry["silhouette"] for entry in model.info["k_selection"]}
    assert max(silhouettes, key=silhouettes.get) == 8  # what silhouette alone would choose
    assert model.n_clusters == max((k for k in silhouettes if k * 5 <= 24), key=silhouettes.get)
    assert model.n_clusters <= 4
    assert len(model.info["k_selection"]) == 9  # the chart still shows every k the sweep fitted


def test_fit_model_with_one_distinct_customer_needs_two():
    with pytest.raises(InvalidDataset, match=r"^only 1 distinct customer; at least 2 are needed to form segments$"):
        fit_model(np.ones((20, 2)), FEATURES, k="auto")


def test_train_writes_processed_csv(default_data, tmp_path):
    result = train(default_data, output_dir=tmp_path / "m", processed_dir=tmp_path / "processed")
    assert result.processed_path == tmp_path / "processed" / "mall_customers_processed.csv"
    processed = pd.read_csv(result.processed_path)
    assert list(processed.columns) == ["customer_id", "gender", "age", "annual_income", "spending_score"]
    assert len(processed) == 200


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"k": 1}, "k must be"), ({"k": 11}, "k must be"), ({"features": ["height"]}, "features must be")],
)
def test_train_rejects_bad_parameters(default_data, tmp_path, kwargs, message):
    with pytest.raises(InvalidDataset, match=message):
        train(default_data, output_dir=tmp_path / "m", **kwargs)
    assert not (tmp_path / "m").exists()


def test_public_dataset_gives_the_published_groups(public_mall_csv, tmp_path):
    result = train(public_mall_csv, output_dir=tmp_path / "m")
    sizes = {segment.name: segment.size for segment in result.model.segments}
    assert sizes == TABLE_SIZES
    assert round(result.model.info["metrics"]["silhouette"], 4) == 0.5547
    by_k = {entry["k"]: round(entry["silhouette"], 3) for entry in result.model.info["k_selection"]}
    assert by_k[3] == 0.467 and by_k[4] == 0.494 and by_k[5] == 0.555
    assert max(by_k, key=by_k.get) == 5


def test_train_drops_a_value_too_large_for_the_model_and_says_so(tmp_path):
    data = write_customers(tmp_path / "crm.csv", per_group=10)
    # A ';' file, as the audit's: the row's Visits is finite, but no float32 holds it.
    data.write_text(data.read_text().replace(",", ";") + "2009.0;50000;1e39;2\n")
    result = train(data, output_dir=tmp_path / "m", specs=THREE, k=3, sweep=False)
    assert result.dataset.dropped == {"visits too large (beyond ±1e15)": 1}
    assert result.model.info["n_samples"] == 30
