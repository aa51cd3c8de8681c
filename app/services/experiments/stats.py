"""A/B statistics, pure: Wilson and t intervals, the two-proportion z-test and Welch's t-test.

numpy and math for the arithmetic, scipy.stats only for the normal and t distributions, imported where used: loading
it takes about half a second, which a report pays and a server start does not. Every value is checked
against scipy.stats in tests/services/experiments/test_stats.py. Undefined results (no customers, no variance) are
None rather than NaN, so they stay valid JSON and read as "cannot say".
"""

import math
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Interval:
    """A confidence interval."""

    low: float
    high: float


@dataclass(frozen=True, slots=True)
class ProportionTest:
    """Two-proportion z-test (pooled); `chi2` is z², the Pearson chi-squared of the 2×2 table without correction."""

    z: float
    chi2: float
    p_value: float


@dataclass(frozen=True, slots=True)
class WelchTest:
    """Welch's unequal-variance t-test."""

    t: float
    df: float
    p_value: float


def wilson_interval(successes: int, trials: int, *, confidence: float = CONFIDENCE) -> Interval | None:
    """The Wilson score interval of a proportion (None without trials)."""
    if trials <= 0:
        return None
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(values: np.ndarray, *, confidence: float = CONFIDENCE) -> Interval | None:
    """The t interval of a mean (None with fewer than two values)."""
    n = len(values)
    if n < 2:
        return None
    mean = float(np.mean(values))
    sem = float(np.std(values, ddof=1)) / math.sqrt(n)
    from scipy.stats import t as student_t

    half = float(student_t.ppf(0.5 + confidence / 2, n - 1)) * sem
    return Interval(mean - half, mean + half)


def two_proportion_test(successes_a: int, trials_a: int, successes_b: int, trials_b: int) -> ProportionTest | None:
    """Two-sided z-test of two proportions with the pooled variance (None when it is undefined)."""
    if trials_a <= 0 or trials_b <= 0:
        return None
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    variance = pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b)
    if variance <= 0:
        return None  # everyone converted, or no one did: nothing tells the arms apart
    z = (successes_a / trials_a - successes_b / trials_b) / math.sqrt(variance)
    from scipy.stats import norm

    return ProportionTest(z=z, chi2=z * z, p_value=float(2 * norm.sf(abs(z))))


def welch_test(a: np.ndarray, b: np.ndarray) -> WelchTest | None:
    """Two-sided Welch t-test of two means (None with fewer than two values in an arm, or no variance at all)."""
    n_a, n_b = len(a), len(b)
    if n_a < 2 or n_b < 2:
        return None
    var_a = float(np.var(a, ddof=1)) / n_a
    var_b = float(np.var(b, ddof=1)) / n_b
    if var_a + var_b <= 0:
        return None
    t = (float(np.mean(a)) - float(np.mean(b))) / math.sqrt(var_a + var_b)
    df = (var_a + var_b) ** 2 / (var_a**2 / (n_a - 1) + var_b**2 / (n_b - 1))
    from scipy.stats import t as student_t

    return WelchTest(t=t, df=df, p_value=float(2 * student_t.sf(abs(t), df)))
