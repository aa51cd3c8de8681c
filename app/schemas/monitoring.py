"""Query types and responses of /api/v1/monitoring."""

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from app.schemas.common import example_config
from app.utils.moments import in_calendar

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_only(value: object) -> object:
    """Refuse numbers (pydantic would read them as Unix timestamps): the schema promises ISO 8601."""
    if not (isinstance(value, str) and _ISO_DATE.match(value)) and not isinstance(value, datetime):
        raise ValueError("expected an ISO 8601 date or date-time, such as 2026-01-31T12:00:00Z")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(in_calendar)]


def _blank_as_none(value: object) -> object:
    """An empty field as absent: a page's form sends its optional To as `until=` when left empty."""
    return None if value == "" else value


# A page form's optional moment: empty is absent; anything else as IsoDateTime.
FormDateTime = Annotated[IsoDateTime | None, BeforeValidator(_blank_as_none)]


Status = Literal["stable", "watch", "drift"]


class Histogram(BaseModel):
    """Shares of reference and recent customers in the reference's decile bins."""

    edges: list[float] = Field(description="The reference's decile edges (11 values; the outer bins are open).")
    reference: list[float] = Field(description="Share of the training customers in each bin.")
    current: list[float] = Field(description="Share of the compared customers in each bin.")


class FeatureDrift(BaseModel):
    """Drift of one feature."""

    feature: str = Field(description="The feature's name, as requests give it.")
    label: str = Field(description="How pages and charts name it.")
    status: Status = Field(description="`stable`, `watch` or `drift`.")
    psi: float = Field(description="Population stability index over the reference's decile bins.")
    ks_statistic: float = Field(description="Two-sample Kolmogorov-Smirnov statistic against the training data.")
    ks_p_value: float = Field(description="Its p-value.")
    wasserstein_over_std: float = Field(description="Wasserstein distance divided by the reference std.")
    decided_by: Literal["ks", "wasserstein"] = Field(description="The test that decides, by reference size.")
    reference_mean: float = Field(description="Mean of the feature in the training data.")
    current_mean: float = Field(description="Mean of the feature among the compared customers.")
    message: str = Field(description="The finding in words.")
    histogram: Histogram = Field(description="Both distributions over the training data's decile bins.")


class SegmentShare(BaseModel):
    """One segment's share of training and of recent customers."""

    segment_id: int = Field(description="Stable segment id: the same segment in every model version.")
    segment_name: str = Field(description="The segment's name (the team's own, when it renamed it).")
    training_share: float = Field(description="Its share of the training customers.")
    current_share: float = Field(description="Its share of the compared customers.")
    count: int = Field(description="Compared customers in it.")


class SegmentMixDrift(BaseModel):
    """Drift of the mix of segments."""

    status: Status = Field(description="`stable`, `watch` or `drift`.")
    psi: float = Field(description="Population stability index of the segment shares.")
    chi2: float = Field(description="Chi-squared statistic of the segment counts against training.")
    chi2_p_value: float = Field(description="Its p-value.")
    jensen_shannon: float = Field(description="Jensen-Shannon distance between the two mixes.")
    decided_by: Literal["chi2", "jensen_shannon"] = Field(description="The test that decides, by reference size.")
    segments: list[SegmentShare] = Field(description="Every segment's share in training and now.")
    message: str = Field(description="The finding in words.")


class RateDrift(BaseModel):
    """A rate of flagged predictions against its training rate."""

    check: Literal["atypical", "out_of_range"] = Field(description="Which flag's rate.")
    status: Status = Field(description="`stable`, `watch` or `drift`.")
    training_rate: float = Field(description="The rate among the training customers.")
    current_rate: float = Field(description="The rate among the compared customers.")
    message: str = Field(description="The finding in words.")


class MainRequest(BaseModel):
    """The request (a scored file or a batch) that answered the most predictions of the window."""

    request_id: str = Field(description="Its X-Request-ID.")
    source: str = Field(description="`csv` for a scored file, `batch` for a batch request, `single` otherwise.")
    rows: int = Field(description="Its predictions in the window.")
    share: float = Field(description="Its share of the window; over 0.8 the window is mostly this one request.")
    at: datetime = Field(description="When it was logged.")


class DriftWindow(BaseModel):
    """The predictions that were compared."""

    kind: Literal["time", "rows", "run"] = Field(
        description="`time`: the logged predictions from `since` to `until`, each customer id once (its latest); "
        "`rows`: the last `requested` rows as logged (`window=N`); `run`: the scored customers of one run's file "
        "(GET /api/v1/runs/{id}/drift), each customer id once (its last row)."
    )
    requested: int | None = Field(description="N of `window=N`; null for a time window.")
    since: datetime | None = Field(description="Start of a time window; null for the others.")
    until: datetime | None = Field(description="End of a time window; null for the others.")
    size: int = Field(description="Predictions compared: for a time window, customers counted once.")
    rows_read: int = Field(description="Rows read from the log, before each customer id was counted once.")
    truncated: bool = Field(description="True when the time window held more rows than were read (the newest are).")
    minimum: int = Field(description="Fewer predictions than this give `insufficient data`.")
    first: datetime | None = Field(description="The earliest compared prediction; null when none.")
    last: datetime | None = Field(description="The latest compared prediction; null when none.")
    main_request: MainRequest | None = Field(
        description="The request that answered the most of the window's predictions; null when none did."
    )


class Method(BaseModel):
    """One row of the table of methods and thresholds."""

    check: str = Field(description="What is checked: feature, segment mix, or a rate.")
    method: str = Field(description="How, in words.")
    thresholds: str = Field(description="The bands between stable, watch and drift.")
    source: str = Field(description="Where the thresholds come from.")


class DriftResponse(BaseModel):
    """Every drift check of the recent window against the model's training data."""

    model_config = example_config(
        {
            "status": "drift",
            "model_version": "20261128.010000-1a2b3c4d",
            "trained_at": "2026-11-28T01:00:00+00:00",
            "window": {
                "kind": "time",
                "requested": None,
                "since": "2026-11-27T01:00:00+00:00",
                "until": "2026-11-28T01:00:00+00:00",
                "size": 1000,
                "rows_read": 1200,
                "truncated": False,
                "minimum": 100,
                "first": None,
                "last": None,
                "main_request": None,
            },
            "messages": ["Young Trendsetter is 31% of recent customers against 11% in training: consider retraining."],
            "warnings": [],
            "features": [],
            "segment_mix": None,
            "rates": [],
            "methods": [],
        }
    )

    status: Literal["stable", "watch", "drift", "insufficient data"] = Field(
        description="The worst of the checks, or `insufficient data` below the window's minimum."
    )
    model_version: str = Field(description="The version whose training data is the reference.")
    trained_at: str | None = Field(description="When it was trained (UTC, ISO 8601).")
    window: DriftWindow = Field(description="Which predictions were compared.")
    messages: list[str] = Field(description="Plain-language lines for every check that is not stable.")
    warnings: list[str] = Field(
        description="Caveats on the verdict: a window over 80% of which is one file (or batch) describes that file."
    )
    features: list[FeatureDrift] = Field(description="One check per feature; empty without a verdict.")
    segment_mix: SegmentMixDrift | None = Field(
        description="The mix of segments; null without a verdict (`insufficient data`)."
    )
    rates: list[RateDrift] = Field(description="The atypical and out-of-range rates.")
    methods: list[Method] = Field(description="The methods and thresholds of every check.")


class VolumeSegment(BaseModel):
    """A segment that appears in the series."""

    segment_id: int = Field(description="Stable segment id: the same segment in every model version.")
    segment_name: str = Field(description="The segment's name (the team's own, when it renamed it).")


class VolumePoint(BaseModel):
    """Predictions in one hour or day, per segment id."""

    start: datetime = Field(description="Start of the bucket (UTC).")
    counts: dict[str, int] = Field(description="Predictions per segment id.")
    total: int = Field(description="Predictions in the bucket.")


class PredictionVolume(BaseModel):
    """Logged predictions per segment over time."""

    model_config = example_config(
        {
            "model_version": "20261128.010000-1a2b3c4d",
            "since": "2026-11-27T00:00:00+00:00",
            "until": "2026-11-28T01:00:00+00:00",
            "bucket": "hour",
            "total": 12,
            "truncated": False,
            "segments": [{"segment_id": 1, "segment_name": "VIP / Whale"}],
            "series": [{"start": "2026-11-28T00:00:00+00:00", "counts": {"1": 12}, "total": 12}],
        }
    )

    model_version: str = Field(description="The version whose predictions are counted: the one that answered.")
    since: datetime = Field(description="Start of the span (UTC).")
    until: datetime = Field(description="End of the span (UTC).")
    bucket: Literal["hour", "day"] = Field(description="The size of each point.")
    total: int = Field(description="Predictions in the span.")
    truncated: bool = Field(description="True when more rows matched than were read.")
    segments: list[VolumeSegment] = Field(description="The segments the counts name.")
    series: list[VolumePoint] = Field(description="One point per bucket, oldest first.")


class CheckStatus(BaseModel):
    """One check of a stored evaluation."""

    check: str = Field(description="`overall`, `feature:<name>`, `segment_mix`, `atypical` or `out_of_range`.")
    status: Literal["stable", "watch", "drift", "insufficient data"] = Field(description="The check's verdict.")
    value: float | None = Field(description="PSI for features and the segment mix, the current rate for rates.")


class EvaluatedWindow(BaseModel):
    """The time window an evaluation covered."""

    since: datetime = Field(description="Start of the window (UTC).")
    until: datetime = Field(description="End of the window (UTC).")
    size: int = Field(description="Customers compared.")


class DriftEvaluation(BaseModel):
    """One evaluation stored by the background evaluator."""

    evaluated_at: datetime = Field(description="When it ran (UTC).")
    model_version: str = Field(description="The version evaluated.")
    window: EvaluatedWindow = Field(description="The time window it covered.")
    status: Literal["stable", "watch", "drift", "insufficient data"] = Field(description="The overall verdict.")
    checks: list[CheckStatus] = Field(description="Every check's verdict.")
    warning: str | None = Field(description="What limits the evaluation, in words; null when nothing.")


class DriftHistory(BaseModel):
    """A segmentation's stored drift evaluations over time, oldest first."""

    model_config = example_config(
        {
            "segmentation": "default",
            "since": "2026-11-21T01:00:00+00:00",
            "until": "2026-11-28T01:00:00+00:00",
            "truncated": False,
            "evaluations": [
                {
                    "evaluated_at": "2026-11-28T00:55:00+00:00",
                    "model_version": "20261128.010000-1a2b3c4d",
                    "window": {"since": "2026-11-27T00:55:00+00:00", "until": "2026-11-28T00:55:00+00:00", "size": 812},
                    "status": "stable",
                    "checks": [{"check": "overall", "status": "stable", "value": None}],
                    "warning": None,
                }
            ],
        }
    )

    segmentation: str = Field(description="The segmentation asked about.")
    since: datetime = Field(description="Start of the span (UTC).")
    until: datetime = Field(description="End of the span (UTC).")
    truncated: bool = Field(description="True when more evaluations matched than the 5,000 newest returned.")
    evaluations: list[DriftEvaluation] = Field(description="The stored evaluations of the span, oldest first.")


class BucketDrift(BaseModel):
    """The last stored drift evaluation in a bucket."""

    evaluated_at: datetime = Field(description="When the bucket's last evaluation ran (UTC).")
    status: Literal["stable", "watch", "drift", "insufficient data"] = Field(description="Its overall verdict.")
    checks: dict[str, Literal["stable", "watch", "drift", "insufficient data"]] = Field(
        description="Its verdict per check."
    )


class TimePoint(BaseModel):
    """One hour, day or week."""

    start: datetime = Field(description="Start of the bucket (UTC).")
    predictions: int = Field(description="Predictions logged, every re-score counted.")
    customers: int = Field(description="Customers, each id once (its latest prediction in the bucket).")
    counts: dict[str, int] = Field(description="Customers per segment id.")
    atypical_rate: float | None = Field(description="Share of its customers flagged atypical; null when none.")
    out_of_range_rate: float | None = Field(description="Share with a value out of range; null when none.")
    drift: BucketDrift | None = Field(description="The last stored drift evaluation in it; null when none.")


class TimeSeries(BaseModel):
    """The served version's segment mix, volumes, rates and drift checks over time."""

    model_config = example_config(
        {
            "segmentation": "default",
            "model_version": "20261128.010000-1a2b3c4d",
            "bucket": "day",
            "since": "2026-11-27T00:00:00+00:00",
            "until": "2026-11-28T01:00:00+00:00",
            "truncated": False,
            "segments": [{"segment_id": 1, "segment_name": "VIP / Whale"}],
            "series": [
                {
                    "start": "2026-11-28T00:00:00+00:00",
                    "predictions": 14,
                    "customers": 12,
                    "counts": {"1": 12},
                    "atypical_rate": 0.0833,
                    "out_of_range_rate": 0.0,
                    "drift": {
                        "evaluated_at": "2026-11-28T00:55:00+00:00",
                        "status": "stable",
                        "checks": {"overall": "stable", "segment_mix": "stable"},
                    },
                }
            ],
        }
    )

    segmentation: str = Field(description="The segmentation asked about.")
    model_version: str = Field(description="The version served now: only its logged predictions are counted.")
    bucket: Literal["hour", "day", "week"] = Field(description="The size of each point.")
    since: datetime = Field(description="Start of the span (UTC).")
    until: datetime = Field(description="End of the span (UTC).")
    truncated: bool = Field(description="True when more log rows matched than were read (the newest are).")
    segments: list[VolumeSegment] = Field(description="The segments the counts name.")
    series: list[TimePoint] = Field(description="One point per bucket, oldest first.")
