"""The A/B statistics against scipy.stats: every interval, statistic and p-value."""

import numpy as np
import pytest
from scipy import stats

from app.services.experiments.stats import mean_interval, two_proportion_test, welch_test, wilson_interval

PROPORTIONS = [(0, 10), (1, 10), (5, 10), (10, 10), (37, 120), (3, 31), (400, 1_000), (1, 1)]


@pytest.mark.parametrize(("successes", "trials"), PROPORTIONS)
def test_wilson_interval_equals_scipys(successes, trials):
    expected = stats.binomtest(successes, trials).proportion_ci(confidence_level=0.95, method="wilson")
    interval = wilson_interval(successes, trials)
    assert interval.low == pytest.approx(expected.low, abs=1e-12)
    assert interval.high == pytest.approx(expected.high, abs=1e-12)


def test_wilson_interval_without_trials_is_none():
    assert wilson_interval(0, 0) is None


@pytest.mark.parametrize("seed", range(5))
def test_mean_interval_equals_scipys_t_interval(seed):
    values = np.random.default_rng(seed).gamma(2.0, 30.0, size=5 + 20 * seed)
    expected = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    interval = mean_interval(values)
    assert (interval.low, interval.high) == pytest.approx(expected, rel=1e-12)


def test_mean_interval_of_one_value_is_none():
    assert mean_interval(np.array([3.0])) is None


@pytest.mark.parametrize(("a", "b"), [((30, 200), (45, 210)), ((5, 31), (6, 30)), ((120, 1_000), (90, 1_100))])
def test_two_proportion_test_equals_chi2_contingency_and_the_normal(a, b):
    (sa, na), (sb, nb) = a, b
    result = two_proportion_test(sa, na, sb, nb)
    chi2, p, dof, _ = stats.chi2_contingency([[sa, na - sa], [sb, nb - sb]], correction=False)
    assert dof == 1
    assert result.chi2 == pytest.approx(chi2, rel=1e-10)
    assert result.p_value == pytest.approx(p, rel=1e-9)
    # The z statistic itself, from scipy's normal: the pooled two-proportion z.
    pooled = (sa + sb) / (na + nb)
    z = (sa / na - sb / nb) / np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    assert result.z == pytest.approx(z, rel=1e-12)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-12)


@pytest.mark.parametrize("counts", [(0, 10, 0, 12), (10, 10, 7, 7), (1, 0, 1, 3)])
def test_two_proportion_test_is_none_when_undefined(counts):
    assert two_proportion_test(*counts) is None


@pytest.mark.parametrize("seed", range(5))
def test_welch_test_equals_ttest_ind_unequal_var(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(50, 10, size=10 + 7 * seed)
    b = rng.normal(53, 25, size=40 - 3 * seed)
    result = welch_test(a, b)
    expected = stats.ttest_ind(a, b, equal_var=False)
    assert result.t == pytest.approx(expected.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert result.df == pytest.approx(expected.df, rel=1e-12)


@pytest.mark.parametrize(("a", "b"), [([1.0], [2.0, 3.0]), ([4.0, 4.0], [4.0, 4.0, 4.0])])
def test_welch_test_is_none_when_undefined(a, b):
    assert welch_test(np.array(a), np.array(b)) is None
