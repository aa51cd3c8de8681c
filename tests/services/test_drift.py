"""Drift checks against the training reference; expected PSI, KS and Wasserstein values come from scipy here."""

from dataclasses import replace

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance

from app.models.synthetic import generate_customers
from app.models.training import fit_model
from app.services.monitoring.drift import INSUFFICIENT, MIN_WINDOW, Window, drift_report

FEATURES = ["annual_income", "spending_score"]
COLUMNS = ["Annual Income (k$)", "Spending Score (1-100)"]


def customers(rows: int, seed: int) -> np.ndarray:
    return generate_customers(rows=rows, seed=seed)[COLUMNS].to_numpy(dtype=np.float64, copy=True)


@pytest.fixture(scope="module")
def training() -> np.ndarray:
    # Over 1,000 rows, so Wasserstein/std and Jensen-Shannon decide, as Evidently does on larger references.
    return customers(1_200, seed=7)


@pytest.fixture(scope="module")
def big_model(training):
    return fit_model(training, FEATURES)


def window_of(model, X: np.ndarray) -> Window:
    """The window the log would hold after the model answered X."""
    scores = model.score(X)
    return Window(
        inputs={f: X[:, i] for i, f in enumerate(FEATURES)},
        segment_ids=np.array([model.segments[p].segment_id for p in scores.positions]),
        atypical=scores.is_atypical,
        out_of_range=scores.any_out_of_range,
        requested=len(X),
    )


def expected_psi(train: np.ndarray, current: np.ndarray) -> float:
    """PSI over the training deciles: the symmetric KL divergence sum, from scipy's rel_entr."""
    edges = np.unique(np.quantile(train, np.linspace(0, 1, 11))[1:-1])
    e = np.bincount(np.searchsorted(edges, train, side="right"), minlength=len(edges) + 1) / len(train)
    a = np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1) / len(current)
    return float(np.sum(rel_entr(a, e) + rel_entr(e, a)))


def by_feature(report: dict) -> dict[str, dict]:
    return {check["feature"]: check for check in report["features"]}


@pytest.mark.slow
def test_training_distribution_is_stable_on_every_check(big_model):
    report = drift_report(big_model, window_of(big_model, customers(2_000, seed=8)))
    assert report["status"] == "stable"
    assert [check["status"] for check in report["features"]] == ["stable", "stable"]
    assert report["segment_mix"]["status"] == "stable"
    assert [rate["status"] for rate in report["rates"]] == ["stable", "stable"]
    assert report["messages"] == ["Every check is stable: recent customers look like the training customers."]


@pytest.mark.slow
def test_income_up_one_std_drifts_income_and_the_segment_mix(big_model, training):
    current = customers(2_000, seed=8)
    current[:, 0] += training[:, 0].std()
    report = drift_report(big_model, window_of(big_model, current))
    features = by_feature(report)
    assert report["status"] == "drift"
    assert features["annual_income"]["status"] == "drift"
    assert features["spending_score"]["status"] == "stable"
    assert report["segment_mix"]["status"] == "drift"
    assert "consider retraining" in features["annual_income"]["message"]
    assert "+1.0 training std" in features["annual_income"]["message"]
    assert report["segment_mix"]["message"] in report["messages"]
    assert report["segment_mix"]["message"].endswith("in training: consider retraining.")


@pytest.mark.slow
@pytest.mark.parametrize("shift", [0.0, 0.3, 1.0])
def test_feature_statistics_match_scipy(big_model, training, shift):
    current = customers(2_000, seed=9)
    current[:, 0] += shift * training[:, 0].std()
    features = by_feature(drift_report(big_model, window_of(big_model, current)))
    for i, name in enumerate(FEATURES):
        train, now = training[:, i], current[:, i]
        check = features[name]
        ks = ks_2samp(train, now)
        # The code keeps 101 quantiles, not the rows, so KS and Wasserstein agree within about 1% of the exact ones.
        assert check["ks_statistic"] == pytest.approx(ks.statistic, abs=0.015)
        assert (check["ks_p_value"] < 0.05) == (ks.pvalue < 0.05)
        assert check["wasserstein_over_std"] == pytest.approx(wasserstein_distance(train, now) / train.std(), abs=0.02)
        if min(np.bincount(np.searchsorted(np.unique(np.quantile(train, np.linspace(0, 1, 11))[1:-1]), now))) > 0:
            assert check["psi"] == pytest.approx(expected_psi(train, now), rel=1e-9)


@pytest.mark.slow
def test_segment_mix_statistics_match_scipy(big_model, training):
    current = customers(2_000, seed=10)
    current[:, 0] += 0.3 * training[:, 0].std()
    window = window_of(big_model, current)
    mix = drift_report(big_model, window)["segment_mix"]
    sizes = np.array([segment.size for segment in big_model.segments])
    counts = np.array([(window.segment_ids == segment.segment_id).sum() for segment in big_model.segments])
    shares, now = sizes / sizes.sum(), counts / counts.sum()
    assert mix["psi"] == pytest.approx(float(np.sum(rel_entr(now, shares) + rel_entr(shares, now))))
    chi2, p_value, _, _ = chi2_contingency([sizes, counts], correction=False)
    assert mix["chi2"] == pytest.approx(chi2)
    assert mix["chi2_p_value"] == pytest.approx(p_value)
    assert mix["jensen_shannon"] == pytest.approx(jensenshannon(shares, now))
    assert mix["decided_by"] == "jensen_shannon"
    assert [s["count"] for s in mix["segments"]] == counts.tolist()


@pytest.mark.slow
def test_fifty_predictions_give_insufficient_data(big_model):
    report = drift_report(big_model, window_of(big_model, customers(50, seed=11)))
    assert report["status"] == INSUFFICIENT
    assert report["features"] == []
    assert report["segment_mix"] is None
    assert f"at least {MIN_WINDOW}" in report["messages"][0]


def test_small_reference_is_decided_by_ks(model):
    # The default model has 200 training rows: KS decides, as Evidently does on small references.
    report = drift_report(model, window_of(model, customers(2_000, seed=12)))
    assert {check["decided_by"] for check in report["features"]} == {"ks"}
    assert report["status"] == "stable"


@pytest.mark.slow
def test_reference_stays_small(big_model):
    import json

    assert len(json.dumps(big_model.info["drift_reference"])) < 8_000


@pytest.mark.slow
def test_a_runs_report_speaks_of_the_files_customers_and_keeps_labels_as_written(big_model, training):
    current = customers(2_000, seed=8)
    current[:, 0] += training[:, 0].std()
    window = window_of(big_model, current)
    # A label that holds the log's wording must come through untouched in a run's report.
    specs = big_model.feature_specs
    big_model.feature_specs = [replace(specs[0], label="Income of recent customers"), *specs[1:]]
    try:
        log_report = drift_report(big_model, window)
        run_report = drift_report(big_model, replace(window, kind="run"))
    finally:
        big_model.feature_specs = specs
    run_checks = [*run_report["features"], run_report["segment_mix"], *run_report["rates"]]
    assert all("this file's customers" in check["message"] for check in run_checks)
    assert run_report["features"][0]["message"].startswith("Income of recent customers: this file's customers average")
    log_checks = [*log_report["features"], log_report["segment_mix"], *log_report["rates"]]
    assert all("recent customers" in check["message"] for check in log_checks)
    assert all("this file" not in check["message"] for check in log_checks)
    assert all("recent" not in method["method"] for method in run_report["methods"])
