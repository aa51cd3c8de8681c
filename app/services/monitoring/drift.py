"""Drift: are recent customers still like the ones the model was trained on?

Every check compares the recent window of logged predictions with the reference the model stored at training time
(`info["drift_reference"]`: per-feature deciles and quantiles, and the training atypical rate).

| check | method | stable | watch | drift | source |
|---|---|---|---|---|---|
| feature | PSI over the reference's decile bins | < 0.1 | 0.1-0.25 | >= 0.25 | [1] |
| feature | KS statistic, two-sample p-value (reference <= 1,000 rows) | p >= 0.05 | | p < 0.05 | [2] |
| feature | Wasserstein distance / reference std (reference > 1,000 rows) | < 0.1 | | >= 0.1 | [2] |
| segment mix | PSI over segment shares | < 0.1 | 0.1-0.25 | >= 0.25 | [1] |
| segment mix | chi-squared test, training vs current counts (reference <= 1,000 rows) | p >= 0.05 | | p < 0.05 | [3] |
| segment mix | Jensen-Shannon distance of the shares (reference > 1,000 rows) | < 0.1 | | >= 0.1 | [3] |
| atypical rate | current rate against training (about 5% by construction) | <= 2x | 2x-3x | > 3x | [4] |
| out-of-range rate | share of customers outside the training range | <= 1% | 1%-5% | > 5% | [4] |

[1] the industry bands for the population stability index (credit-scoring practice, e.g. Siddiqi,
    "Credit Risk Scorecards", 2006).
[2] Evidently's defaults for numeric features: KS on references of at most 1,000 rows, Wasserstein distance over
    the reference std (0.1) on larger ones.
[3] Evidently's defaults for categories: chi-squared (p < 0.05) on references of at most 1,000 rows,
    Jensen-Shannon distance (0.1) on larger ones.
[4] this project's choice: there is no published standard.

A feature's or the segment mix's status is the worse of its PSI band and its distribution test, chosen by reference
size as Evidently does (every statistic is always reported). The overall status is the worst check. Fewer than
`MIN_WINDOW` predictions give `insufficient data`, never a verdict.

A window is a span of time (by default the last 24 hours) in which each customer id counts once, as its latest
prediction, so neither the order of a file's rows nor scoring it again changes the verdict; `window=N` (the last N
rows as logged) is kept for those who ask for it. When one request holds over 80% of a window, the report says so:
the verdict then describes that file more than the customers over time.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from app.models.model import SegmentationModel
from app.models.reference import decile_bins

STABLE, WATCH, DRIFT, INSUFFICIENT = "stable", "watch", "drift", "insufficient data"
_RANK = {STABLE: 0, WATCH: 1, DRIFT: 2}
MIN_WINDOW = 100
DEFAULT_WINDOW = 1_000
MAX_WINDOW = 100_000
# A window more than this share of which comes from one request is "mostly one file".
MOSTLY_ONE_REQUEST = 0.8

PSI_WATCH, PSI_DRIFT = 0.1, 0.25
KS_P_VALUE = 0.05
WASSERSTEIN_DRIFT = 0.1
# Evidently switches from KS to Wasserstein above this many reference rows.
KS_MAX_REFERENCE = 1_000
CHI2_P_VALUE = 0.05
JENSEN_SHANNON_DRIFT = 0.1
ATYPICAL_WATCH, ATYPICAL_DRIFT = 2.0, 3.0
OUT_OF_RANGE_WATCH, OUT_OF_RANGE_DRIFT = 0.01, 0.05
# Shares below this count as this much in PSI, so an empty bin gives a large, finite value.
PSI_FLOOR = 1e-4

METHODS: list[dict[str, str]] = [
    {
        "check": "feature",
        "method": "PSI over the reference's decile bins",
        "thresholds": "stable < 0.1 <= watch < 0.25 <= drift",
        "source": "industry bands for the population stability index",
    },
    {
        "check": "feature",
        "method": "KS statistic and two-sample p-value (decides when the reference has <= 1,000 rows)",
        "thresholds": "drift when p < 0.05",
        "source": "Evidently's default for numeric features on small references",
    },
    {
        "check": "feature",
        "method": "Wasserstein distance / reference std (decides when the reference has > 1,000 rows)",
        "thresholds": "drift when >= 0.1",
        "source": "Evidently's default for numeric features on larger references",
    },
    {
        "check": "segment mix",
        "method": "PSI over segment shares",
        "thresholds": "stable < 0.1 <= watch < 0.25 <= drift",
        "source": "industry bands for the population stability index",
    },
    {
        "check": "segment mix",
        "method": "chi-squared test of training against current counts (decides when the reference has <= 1,000 rows)",
        "thresholds": "drift when p < 0.05",
        "source": "Evidently's default for categories on small references",
    },
    {
        "check": "segment mix",
        "method": "Jensen-Shannon distance of the shares (decides when the reference has > 1,000 rows)",
        "thresholds": "drift when >= 0.1",
        "source": "Evidently's default for categories on larger references",
    },
    {
        "check": "atypical rate",
        "method": "current share of atypical customers against training (about 5%)",
        "thresholds": "watch above 2x, drift above 3x",
        "source": "this project's choice",
    },
    {
        "check": "out-of-range rate",
        "method": "current share of customers outside the training range",
        "thresholds": "watch above 1%, drift above 5%",
        "source": "this project's choice",
    },
]


@dataclass(frozen=True)
class MainRequest:
    """The request that answered most of a window's predictions."""

    request_id: str
    source: str
    rows: int
    share: float
    at: datetime


@dataclass(frozen=True)
class Window:
    """Logged predictions, oldest first: feature values by name, segment ids and flags.

    `kind` is "time" (since/until, each customer id once), "rows" (the last `requested` rows as logged) or "run" (a
    kept scoring run's rows, each customer id once).
    """

    inputs: Mapping[str, np.ndarray]
    segment_ids: np.ndarray
    atypical: np.ndarray
    out_of_range: np.ndarray
    first: datetime | None = None
    last: datetime | None = None
    requested: int | None = DEFAULT_WINDOW
    kind: str = "rows"
    since: datetime | None = None
    until: datetime | None = None
    rows_read: int | None = None
    truncated: bool = False
    main_request: MainRequest | None = None

    def __len__(self) -> int:
        return len(self.segment_ids)

    @property
    def mostly_one_request(self) -> bool:
        """Whether over 80% of the window comes from one request (a file or a batch)."""
        return self.main_request is not None and self.main_request.share > MOSTLY_ONE_REQUEST


def mostly_one_file_warning(main: MainRequest) -> str:
    """The warning of a window that is mostly one request, with what the log knows of it."""
    what = "one file" if main.source == "csv" else "one batch request"
    at = main.at.strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Most of this window ({main.share:.0%}, {main.rows:,} customers) is {what} scored at {at} "
        f"(request {main.request_id}): the verdict describes that file more than your customers over time."
    )


def worst(statuses: Sequence[str]) -> str:
    """The most severe of some statuses (stable when there are none)."""
    return max(statuses, key=_RANK.__getitem__, default=STABLE)


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two share vectors: sum((a - e) * ln(a / e)), shares floored at 1e-4."""
    e = np.maximum(np.asarray(expected, dtype=np.float64), PSI_FLOOR)
    a = np.maximum(np.asarray(actual, dtype=np.float64), PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def _band(value: float, watch: float, drift: float) -> str:
    """PSI bands: watch from `watch`, drift from `drift`."""
    return DRIFT if value >= drift else WATCH if value >= watch else STABLE


def _above(value: float, watch: float, drift: float) -> str:
    """Rate limits: watch above `watch`, drift above `drift`."""
    return DRIFT if value > drift else WATCH if value > watch else STABLE


def reference_cdf(quantiles: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The reference CDF at `values`: linear between its stored quantiles, right-continuous where quantiles tie."""
    probabilities = np.linspace(0.0, 1.0, len(quantiles))
    distinct, first = np.unique(quantiles[::-1], return_index=True)
    # For a value shared by several quantiles, the CDF there is the highest of their probabilities.
    highest = probabilities[::-1][first]
    return np.interp(values, distinct, highest, left=0.0, right=1.0)


def ks_against_reference(quantiles: np.ndarray, n_reference: int, current: np.ndarray) -> tuple[float, float]:
    """KS statistic of `current` against the reference CDF, with the asymptotic two-sample p-value.

    As scipy's ks_2samp does for two samples, both CDFs are compared at every point where either steps (the
    current values and the reference quantiles), each CDF taken just after the point.
    """
    from scipy.stats import kstwobign

    values = np.sort(current)
    points = np.union1d(values, quantiles)
    empirical = np.searchsorted(values, points, side="right") / len(values)
    statistic = float(np.max(np.abs(empirical - reference_cdf(quantiles, points))))
    n = len(values)
    effective = np.sqrt(n * n_reference / (n + n_reference))
    return statistic, float(kstwobign.sf(statistic * effective))


def wasserstein_over_std(quantiles: np.ndarray, std: float, current: np.ndarray) -> float:
    """Earth mover's distance between the reference and current quantile functions, in reference std units."""
    probabilities = np.linspace(0.0, 1.0, len(quantiles))
    current_quantiles = np.quantile(current, probabilities)
    distance = float(np.trapezoid(np.abs(current_quantiles - quantiles), probabilities))
    return distance / std if std > 0 else 0.0


def _feature_check(
    feature: str, label: str, reference: Mapping[str, Any], n_reference: int, values: np.ndarray, who: str
) -> dict:
    quantiles = np.asarray(reference["quantiles"], dtype=np.float64)
    edges = decile_bins(reference["deciles"])
    expected = np.asarray(reference["decile_counts"], dtype=np.float64)
    expected /= expected.sum()
    actual = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1) / len(values)
    psi_value = psi(expected, actual)
    ks_statistic, ks_p_value = ks_against_reference(quantiles, n_reference, values)
    wasserstein = wasserstein_over_std(quantiles, reference["std"], values)
    decided_by = "ks" if n_reference <= KS_MAX_REFERENCE else "wasserstein"
    test_drift = ks_p_value < KS_P_VALUE if decided_by == "ks" else wasserstein >= WASSERSTEIN_DRIFT
    status = worst([_band(psi_value, PSI_WATCH, PSI_DRIFT), DRIFT if test_drift else STABLE])
    # The measures that raised the status, for a message whose average alone would not explain it.
    evidence = [f"PSI {psi_value:.2f}"] if psi_value >= PSI_WATCH else []
    if test_drift:
        p_text = "< 0.001" if ks_p_value < 0.001 else f"= {ks_p_value:.3f}"  # as the page's p_value filter writes it
        evidence.append(f"KS p {p_text}" if decided_by == "ks" else f"Wasserstein/std {wasserstein:.2f}")
    current_mean = float(values.mean())
    shift = (current_mean - reference["mean"]) / reference["std"] if reference["std"] > 0 else 0.0
    return {
        "feature": feature,
        "label": label,
        "status": status,
        "psi": psi_value,
        "ks_statistic": ks_statistic,
        "ks_p_value": ks_p_value,
        "wasserstein_over_std": wasserstein,
        "decided_by": decided_by,
        "reference_mean": reference["mean"],
        "current_mean": current_mean,
        "message": _feature_message(label, status, current_mean, reference["mean"], shift, evidence, who),
        "histogram": {
            "edges": reference["deciles"],
            "reference": expected.tolist(),
            "current": actual.tolist(),
        },
    }


def _advice(status: str) -> str:
    return {STABLE: ".", WATCH: ": keep watching.", DRIFT: ": consider retraining."}[status]


# A mean shift below this many training standard deviations reads as "about the same average".
SAME_MEAN_STD = 0.1


def _feature_message(
    label: str, status: str, mean: float, reference_mean: float, shift: float, evidence: list[str], who: str
) -> str:
    """What moved in one feature, in words that agree with its status (advice only when it is not stable).

    A feature can drift while its average stays put (the values spread out, or bunch up): the message then says so
    rather than pairing "+0.0 training std" with "consider retraining".
    """
    if abs(shift) >= SAME_MEAN_STD:
        return (
            f"{label}: {who} average {mean:.1f} against {reference_mean:.1f} in training "
            f"({shift:+.1f} training std){_advice(status)}"
        )
    same = f"{label}: {who} average {mean:.1f}, about the same as in training ({reference_mean:.1f})"
    if status == STABLE:
        return f"{same}."
    why = f" ({', '.join(evidence)})" if evidence else ""
    return f"{same}, but their values spread differently over the training range{why}{_advice(status)}"


def _segment_mix(model: SegmentationModel, segment_ids: np.ndarray, who: str) -> dict[str, Any]:
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import chi2_contingency

    counts = np.array([(segment_ids == segment.segment_id).sum() for segment in model.segments], dtype=np.float64)
    sizes = np.array([segment.size for segment in model.segments], dtype=np.float64)
    training = sizes / sizes.sum()
    current = counts / max(counts.sum(), 1.0)
    psi_value = psi(training, current)
    # Both samples are finite, so the test is on the 2 x k table of counts (segments no one fell in are left out).
    table = np.array([sizes, counts])[:, (sizes + counts) > 0]
    chi2, p_value, _, _ = chi2_contingency(table, correction=False)
    js = float(jensenshannon(training, current))
    n_reference = int(sizes.sum())
    decided_by = "chi2" if n_reference <= KS_MAX_REFERENCE else "jensen_shannon"
    test_drift = p_value < CHI2_P_VALUE if decided_by == "chi2" else js >= JENSEN_SHANNON_DRIFT
    status = worst([_band(psi_value, PSI_WATCH, PSI_DRIFT), DRIFT if test_drift else STABLE])
    moved = int(np.argmax(np.abs(current - training)))
    name = model.segments[moved].name
    return {
        "status": status,
        "psi": psi_value,
        "chi2": float(chi2),
        "chi2_p_value": float(p_value),
        "jensen_shannon": js,
        "decided_by": decided_by,
        "segments": [
            {
                "segment_id": segment.segment_id,
                "segment_name": segment.name,
                "training_share": float(share),
                "current_share": float(now),
                "count": int(count),
            }
            for segment, share, now, count in zip(model.segments, training, current, counts, strict=True)
        ],
        "message": _mix_message(name, current[moved], training[moved], status, who),
    }


def _mix_message(name: str, current: float, training: float, status: str, who: str) -> str:
    """The segment whose share moved most; when even that rounds to its training share, the mix as a whole."""
    if status != STABLE and f"{current:.0%}" == f"{training:.0%}":
        return f"Segment shares differ from training, though none by a whole percentage point{_advice(status)}"
    return f"{name} is {current:.0%} of {who} against {training:.0%} in training{_advice(status)}"


def _rate_check(check: str, label: str, current: float, training: float, status: str, who: str) -> dict[str, Any]:
    return {
        "check": check,
        "status": status,
        "training_rate": training,
        "current_rate": current,
        "message": f"{current:.1%} of {who} are {label} against {training:.1%} in training{_advice(status)}",
    }


def _rates(reference: Mapping[str, Any], window: Window, who: str) -> list[dict[str, Any]]:
    training_atypical = float(reference.get("atypical_rate", 0.05))
    atypical = float(np.mean(window.atypical))
    ratio = atypical / training_atypical if training_atypical > 0 else (np.inf if atypical else 0.0)
    out_of_range = float(np.mean(window.out_of_range))
    training_out = float(reference.get("out_of_range_rate", 0.0))
    return [
        _rate_check(
            "atypical", "atypical", atypical, training_atypical, _above(ratio, ATYPICAL_WATCH, ATYPICAL_DRIFT), who
        ),
        _rate_check(
            "out_of_range",
            "outside the training range",
            out_of_range,
            training_out,
            _above(out_of_range, OUT_OF_RANGE_WATCH, OUT_OF_RANGE_DRIFT),
            who,
        ),
    ]


def _window_facts(window: Window) -> dict[str, Any]:
    main = window.main_request
    return {
        "kind": window.kind,
        "requested": window.requested,
        "since": window.since.isoformat() if window.since else None,
        "until": window.until.isoformat() if window.until else None,
        "size": len(window),
        "rows_read": len(window) if window.rows_read is None else window.rows_read,
        "truncated": window.truncated,
        "minimum": MIN_WINDOW,
        "first": window.first.isoformat() if window.first else None,
        "last": window.last.isoformat() if window.last else None,
        "main_request": None
        if main is None
        else {
            "request_id": main.request_id,
            "source": main.source,
            "rows": main.rows,
            "share": main.share,
            "at": main.at.isoformat(),
        },
    }


# Who the messages speak of: the log's recent customers, or a run's (a scored file's) customers.
RECENT, A_FILES = "recent customers", "this file's customers"


def _subject(window: Window) -> str:
    return A_FILES if window.kind == "run" else RECENT


def drift_report(model: SegmentationModel, window: Window) -> dict[str, Any]:
    """Every drift check of `window` against the model's training reference, with statuses and plain advice."""
    reference = model.info.get("drift_reference")
    base = {
        "model_version": model.version,
        "trained_at": model.info.get("trained_at"),
        "window": _window_facts(window),
        "warnings": [mostly_one_file_warning(window.main_request)] if window.mostly_one_request else [],
        "methods": METHODS,
        "features": [],
        "segment_mix": None,
        "rates": [],
    }
    if len(window) < MIN_WINDOW:
        # "Only 0 predictions" reads as a count that fell short; none at all is said as such.
        logged = f"Only {len(window)} predictions logged" if len(window) else "No predictions logged"
        if len(window) and window.kind == "time" and (window.rows_read or 0) > len(window):
            # Each customer counts once: "Only 30 predictions" beside a chart of 60 reads as 30 lost.
            logged = f"Only {len(window):,} distinct customers in the {window.rows_read:,} predictions logged"
        message = (
            f"{logged} by this model version{' in this window' if window.kind == 'time' else ''}: drift checks need "
            f"at least {MIN_WINDOW}, so there is no verdict yet."
        )
        # No verdict, so nothing for a "mostly one file" warning to qualify.
        return base | {"status": INSUFFICIENT, "messages": [message], "warnings": []}
    if reference is None:
        message = "This model was trained before drift references were kept: retrain it to enable drift checks."
        return base | {"status": INSUFFICIENT, "messages": [message]}
    who = _subject(window)
    features = [
        _feature_check(
            spec.name,
            spec.label,
            reference["features"][spec.name],
            reference["n_samples"],
            np.asarray(window.inputs[spec.name]),
            who,
        )
        # Each feature named as the model's spec labels it: any segmentation's features, not only the default's.
        for spec in model.feature_specs
        if spec.name in reference["features"] and spec.name in window.inputs
    ]
    mix = _segment_mix(model, np.asarray(window.segment_ids), who)
    rates = _rates(reference, window, who)
    checks = [*features, mix, *rates]
    status = worst([check["status"] for check in checks])
    messages = [check["message"] for check in checks if check["status"] != STABLE]
    if not messages:
        messages = [f"Every check is stable: {who} look like the training customers."]
    return base | {"status": status, "features": features, "segment_mix": mix, "rates": rates, "messages": messages}
