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
    reference: list[float]
    current: list[float]


class FeatureDrift(BaseModel):
    """Drift of one feature."""

    feature: str
    label: str
    status: Status
    psi: float = Field(description="Population stability index over the reference's decile bins.")
    ks_statistic: float
    ks_p_value: float
    wasserstein_over_std: float = Field(description="Wasserstein distance divided by the reference std.")
    decided_by: Literal["ks", "wasserstein"] = Field(description="The test that decides, by reference size.")
    reference_mean: float
    current_mean: float
    message: str
    histogram: Histogram


class SegmentShare(BaseModel):
    """One segment's share of training and of recent customers."""

    segment_id: int
    segment_name: str
    training_share: float
    current_share: float
    count: int


class SegmentMixDrift(BaseModel):
    """Drift of the mix of segments."""

    status: Status
    psi: float
    chi2: float
    chi2_p_value: float
    jensen_shannon: float
    decided_by: Literal["chi2", "jensen_shannon"]
    segments: list[SegmentShare]
    message: str


class RateDrift(BaseModel):
    """A rate of flagged predictions against its training rate."""

    check: Literal["atypical", "out_of_range"]
    status: Status
    training_rate: float
    current_rate: float
    message: str


class MainRequest(BaseModel):
    """The request (a scored file or a batch) that answered the most predictions of the window."""

    request_id: str
    source: str = Field(description="`csv` for a scored file, `batch` for a batch request, `single` otherwise.")
    rows: int
    share: float = Field(description="Its share of the window; over 0.8 the window is mostly this one request.")
    at: datetime


class DriftWindow(BaseModel):
    """The predictions that were compared."""

    kind: Literal["time", "rows", "run"] = Field(
        description="`time`: the logged predictions from `since` to `until`, each customer id once (its latest); "
        "`rows`: the last `requested` rows as logged (`window=N`); `run`: the scored customers of one run's file "
        "(GET /api/v1/runs/{id}/drift), each customer id once (its last row)."
    )
    requested: int | None = Field(description="N of `window=N`; null for a time window.")
    since: datetime | None
    until: datetime | None
    size: int = Field(description="Predictions compared: for a time window, customers counted once.")
    rows_read: int = Field(description="Rows read from the log, before each customer id was counted once.")
    truncated: bool = Field(description="True when the time window held more rows than were read (the newest are).")
    minimum: int = Field(description="Fewer predictions than this give `insufficient data`.")
    first: datetime | None
    last: datetime | None
    main_request: MainRequest | None


class Method(BaseModel):
    """One row of the table of methods and thresholds."""

    check: str
    method: str
    thresholds: str
    source: str


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

    status: Literal["stable", "watch", "drift", "insufficient data"]
    model_version: str
    trained_at: str | None
    window: DriftWindow
    messages: list[str] = Field(description="Plain-language lines for every check that is not stable.")
    warnings: list[str] = Field(
        description="Caveats on the verdict: a window over 80% of which is one file (or batch) describes that file."
    )
    features: list[FeatureDrift]
    segment_mix: SegmentMixDrift | None
    rates: list[RateDrift]
    methods: list[Method]


class VolumeSegment(BaseModel):
    """A segment that appears in the series."""

    segment_id: int
    segment_name: str


class VolumePoint(BaseModel):
    """Predictions in one hour or day, per segment id."""

    start: datetime
    counts: dict[str, int]
    total: int


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
    since: datetime
    until: datetime
    bucket: Literal["hour", "day"]
    total: int
    truncated: bool = Field(description="True when more rows matched than were read.")
    segments: list[VolumeSegment]
    series: list[VolumePoint]


class CheckStatus(BaseModel):
    """One check of a stored evaluation."""

    check: str = Field(description="`overall`, `feature:<name>`, `segment_mix`, `atypical` or `out_of_range`.")
    status: Literal["stable", "watch", "drift", "insufficient data"]
    value: float | None = Field(description="PSI for features and the segment mix, the current rate for rates.")


class EvaluatedWindow(BaseModel):
    """The time window an evaluation covered."""

    since: datetime
    until: datetime
    size: int


class DriftEvaluation(BaseModel):
    """One evaluation stored by the background evaluator."""

    evaluated_at: datetime
    model_version: str
    window: EvaluatedWindow
    status: Literal["stable", "watch", "drift", "insufficient data"]
    checks: list[CheckStatus]
    warning: str | None


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

    segmentation: str
    since: datetime
    until: datetime
    truncated: bool = Field(description="True when more evaluations matched than the 5,000 newest returned.")
    evaluations: list[DriftEvaluation]


class BucketDrift(BaseModel):
    """The last stored drift evaluation in a bucket."""

    evaluated_at: datetime
    status: Literal["stable", "watch", "drift", "insufficient data"]
    checks: dict[str, Literal["stable", "watch", "drift", "insufficient data"]]


class TimePoint(BaseModel):
    """One hour, day or week."""

    start: datetime
    predictions: int = Field(description="Predictions logged, every re-score counted.")
    customers: int = Field(description="Customers, each id once (its latest prediction in the bucket).")
    counts: dict[str, int] = Field(description="Customers per segment id.")
    atypical_rate: float | None
    out_of_range_rate: float | None
    drift: BucketDrift | None


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

    segmentation: str
    model_version: str
    bucket: Literal["hour", "day", "week"]
    since: datetime
    until: datetime
    truncated: bool = Field(description="True when more log rows matched than were read (the newest are).")
    segments: list[VolumeSegment]
    series: list[TimePoint]
