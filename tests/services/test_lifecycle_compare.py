"""Metric changes between two versions: better or worse where a metric can rank them, and why not where it cannot."""

import pytest

from app.services.lifecycle import metric_deltas

METRICS = {"silhouette": 0.60, "davies_bouldin": 0.50, "calinski_harabasz": 400.0, "inertia": 65.0}


def info(data: str | None = "aaa", k: int = 5, **metrics: float) -> dict:
    return {"data_sha256": data, "n_clusters": k, "metrics": METRICS | metrics}


def test_on_the_same_data_and_k_every_metric_ranks_the_versions_its_own_way():
    improved = info(silhouette=0.62, davies_bouldin=0.45, calinski_harabasz=420.0, inertia=60.0)
    deltas = metric_deltas(info(), improved)
    assert {name: d["verdict"] for name, d in deltas.items()} == dict.fromkeys(METRICS, "better")
    assert deltas["silhouette"]["higher_is_better"] and not deltas["inertia"]["higher_is_better"]
    assert deltas["inertia"]["delta"] == pytest.approx(-5.0)
    worse = metric_deltas(improved, info())
    assert {d["verdict"] for d in worse.values()} == {"worse"}


def test_on_other_data_only_the_size_free_metrics_are_compared():
    deltas = metric_deltas(info("aaa"), info("bbb", silhouette=0.50, calinski_harabasz=900.0, inertia=10.0))
    assert deltas["silhouette"]["verdict"] == "worse" and deltas["davies_bouldin"]["verdict"] == "unchanged"
    for name in ("calinski_harabasz", "inertia"):
        assert deltas[name]["comparable"] is False and deltas[name]["verdict"] is None
        assert "different data" in deltas[name]["not_comparable_because"]
    # Unknown training data is not the same data.
    assert metric_deltas(info(None), info(None))["inertia"]["comparable"] is False


def test_inertia_is_not_compared_across_k_on_the_same_data():
    deltas = metric_deltas(info(k=5), info(k=6, inertia=50.0, calinski_harabasz=380.0))
    assert deltas["inertia"]["comparable"] is False and "k=5 against k=6" in deltas["inertia"]["not_comparable_because"]
    assert deltas["calinski_harabasz"]["verdict"] == "worse"


def test_metrics_missing_from_either_version_are_left_out():
    old = {"data_sha256": "aaa", "n_clusters": 5, "metrics": {"silhouette": 0.6}}
    assert set(metric_deltas(old, info())) == {"silhouette"}
    assert metric_deltas({}, info()) == {}
