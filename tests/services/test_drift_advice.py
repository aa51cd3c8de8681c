"""Drift messages agree with their status: advice only for checks that are not stable, and never '-0.0 std'."""

import numpy as np
import pytest

from app.models.synthetic import generate_customers
from app.services.monitoring.drift import STABLE, Window, drift_report

COLUMNS = ["Annual Income (k$)", "Spending Score (1-100)"]
ADVICE = ("consider retraining", "keep watching")


def window_of(model, X: np.ndarray) -> Window:
    scores = model.score(X)
    return Window(
        inputs={f: X[:, i] for i, f in enumerate(model.features)},
        segment_ids=np.array([model.segments[p].segment_id for p in scores.positions]),
        atypical=scores.is_atypical,
        out_of_range=scores.any_out_of_range,
        requested=len(X),
    )


def checks(report: dict) -> list[dict]:
    return [*report["features"], report["segment_mix"], *report["rates"]]


def test_values_bunched_at_the_training_average_drift_and_say_why_not_that_the_average_moved(model):
    rng = np.random.default_rng(0)
    X = generate_customers(rows=1_000, seed=8)[COLUMNS].to_numpy(dtype=np.float64, copy=True)
    stats = model.info["data_stats"]["annual_income"]
    # The same average as training, but nearly every customer within a tenth of a std of it.
    X[:, 0] = stats["mean"] + rng.normal(0.0, 0.1 * stats["std"], len(X))
    income = drift_report(model, window_of(model, X))["features"][0]
    assert income["status"] == "drift"
    message = income["message"]
    assert "about the same as in training" in message and "spread differently" in message
    assert "training std" not in message and "PSI" in message
    assert message.endswith(": consider retraining.")


def test_a_shifted_average_is_given_in_training_stds_with_advice(model):
    X = generate_customers(rows=1_000, seed=8)[COLUMNS].to_numpy(dtype=np.float64, copy=True)
    X[:, 0] += model.info["data_stats"]["annual_income"]["std"]
    income = drift_report(model, window_of(model, X))["features"][0]
    assert income["status"] == "drift"
    assert "(+1.0 training std): consider retraining." in income["message"]


@pytest.mark.parametrize(("seed", "shift"), [(8, 0.0), (9, 0.0), (10, 0.05), (11, -0.05), (12, 0.3)])
def test_stable_checks_give_no_advice_and_no_check_reads_minus_zero(model, seed, shift):
    X = generate_customers(rows=1_000, seed=seed)[COLUMNS].to_numpy(dtype=np.float64, copy=True)
    X[:, 0] += shift * model.info["data_stats"]["annual_income"]["std"]
    report = drift_report(model, window_of(model, X))
    for check in checks(report):
        assert "-0.0 " not in check["message"] and "+0.0 " not in check["message"], check["message"]
        if check["status"] == STABLE:
            assert not any(advice in check["message"] for advice in ADVICE), check["message"]
        else:
            assert check["message"].endswith(("consider retraining.", "keep watching.")), check["message"]
    assert any(check["status"] == STABLE for check in checks(report))
