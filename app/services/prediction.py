"""Predictions as the API and pages show them: the model's scores, with names, advice and flags."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np
import orjson

from app.core import metrics
from app.core.errors import InvalidRequest
from app.models.explanation import explain, explanation_dicts
from app.models.model import Scores, SegmentationModel
from app.models.segmentations.spec import DEFAULT_NAME
from app.schemas.prediction import PLAIN_NUMBERS, CustomerIn, PlainCustomers
from app.services.monitoring.log_rows import log_scores
from app.services.monitoring.prediction_log import PredictionLogWriter
from app.services.prediction_json import render_batch


def _getter(model: SegmentationModel) -> Any:
    """A customer's values of the model's features, in model order, as a tuple."""
    names = model.features
    return itemgetter(*names) if len(names) > 1 else (lambda customer: (customer[names[0]],))


def _missing(model: SegmentationModel, exc: KeyError) -> InvalidRequest:
    # The JSON schema takes only the default features (and refuses others), so no request body can fix this.
    taken = " and ".join(sorted(CustomerIn.__required_keys__))
    return InvalidRequest(
        f"model version {model.version} also needs '{exc.args[0]}', which the JSON predict API does not take "
        f"(it takes {taken}): score these customers with POST /api/v1/predict/csv, which reads every column the "
        f"model uses, or activate a version trained on {taken}"
    )


def feature_rows(model: SegmentationModel, customers: Sequence[Mapping[str, float]]) -> list[tuple[float, ...]]:
    """Each customer's values of the model's features, in model order."""
    getter = _getter(model)
    try:
        return [getter(customer) for customer in customers]
    except KeyError as exc:
        raise _missing(model, exc) from None


def feature_matrix(model: SegmentationModel, customers: Sequence[Mapping[str, float]]) -> np.ndarray:
    """Each customer's values of the model's features, in model order, as an (n, n_features) array."""
    if isinstance(customers, PlainCustomers) and tuple(model.features) == PLAIN_NUMBERS:
        return customers.numbers  # read and checked already, in this order
    n, k = len(customers), len(model.features)
    try:
        # Straight into the array, with no list of tuples between: half the time for a 10,000-customer batch.
        values = np.fromiter(chain.from_iterable(map(_getter(model), customers)), dtype=np.float64, count=n * k)
    except KeyError as exc:
        raise _missing(model, exc) from None
    return values.reshape(n, k)


def _out_of_range(model: SegmentationModel, values: Sequence[float], flags: np.ndarray) -> list[dict[str, Any]]:
    """The features of one row that lie outside the training range, with that range."""
    low, high = model.training_range
    return [
        {"feature": name, "value": float(values[f]), "training_min": float(low[f]), "training_max": float(high[f])}
        for f, name in enumerate(model.features)
        if flags[f]
    ]


def record_scores(model: SegmentationModel, scores: Scores, *, source: str, segmentation: str = DEFAULT_NAME) -> None:
    """Count answered customers in the metrics: per segment, atypical, out of range, and the size."""
    metrics.record_scores(
        segmentation=segmentation,
        # The generated names: a segment the team renamed keeps its time series.
        segment_names=[segment.metric_name for segment in model.segments],
        positions=scores.positions,
        is_atypical=scores.is_atypical,
        out_of_range=scores.out_of_range,
        features=model.features,
        source=source,
    )


def render_predictions(
    model: SegmentationModel, X: np.ndarray | Sequence[Sequence[float]], scores: Scores
) -> list[dict[str, Any]]:
    """One prediction dict per row of feature values `X`, in input order."""
    segments, keys, version = model.segments, model.segment_keys, model.version
    has_runner_up = model.n_clusters > 1
    # One dict literal per row: this loop is the hot spot of a 10,000-customer request.
    return [
        {
            "segment_id": segments[position].segment_id,
            "segment_name": segments[position].name,
            "description": segments[position].description,
            "marketing_strategy": segments[position].strategy,
            "distance": distance,
            "distances": dict(zip(keys, row, strict=True)),
            "confidence": confidence,
            "runner_up": {
                "segment_id": segments[runner].segment_id,
                "segment_name": segments[runner].name,
                "distance": runner_distance,
            }
            if has_runner_up
            else None,
            "is_atypical": atypical,
            "out_of_range": _out_of_range(model, X[i], scores.out_of_range[i]) if out else [],
            "model_version": version,
        }
        for i, (position, distance, row, confidence, runner, runner_distance, atypical, out) in enumerate(
            zip(
                scores.positions.tolist(),
                scores.nearest.tolist(),
                scores.distances.tolist(),
                scores.confidence.tolist(),
                scores.runner_up.tolist(),
                scores.runner_up_distance.tolist(),
                scores.is_atypical.tolist(),
                scores.any_out_of_range.tolist(),
                strict=True,
            )
        )
    ]


def add_explanations(
    model: SegmentationModel, X: np.ndarray | Sequence[Sequence[float]], scores: Scores, predictions: list[dict]
) -> None:
    """Give each rendered prediction its `explanation` (explain=true): why this segment, and what confidence says."""
    explanations = explanation_dicts(model, explain(model, X, scores), scores)
    for rendered, explanation in zip(predictions, explanations, strict=True):
        rendered["explanation"] = explanation


# slots: an Answer is built on every single prediction, and a slotted class is the cheapest to build.
@dataclass(slots=True)
class Answer:
    """Predictions computed and not yet counted: `body` is the answer; `record()` it once the answer is built."""

    body: dict[str, Any]
    model: SegmentationModel
    X: Any  # the customers' rows of feature values
    scores: Scores
    source: str
    segmentation: str = DEFAULT_NAME
    # The caller's id of each customer, in row order (None where one has none); None when no customer has one.
    customer_ids: Sequence[object] | None = None
    # Set only while a challenger runs (app/services/challenger): the arm, and a shadow challenger's segments.
    arm: str | None = None
    shadow: tuple[str, Any] | None = None
    # The body already rendered as JSON bytes (predict_customers(rendered=True)); `body` is then empty.
    json: bytes | None = None

    def record(self, *, log: PredictionLogWriter | None, request_id: str | None) -> None:
        """Count the predictions in the metrics and queue them for the prediction log (a no-op when `log` is off)."""
        record_scores(self.model, self.scores, source=self.source, segmentation=self.segmentation)
        log_scores(
            log,
            self.model,
            self.X,
            self.scores,
            request_id=request_id,
            source=self.source,
            segmentation=self.segmentation,
            customer_ids=self.customer_ids,
            arm=self.arm,
            shadow=self.shadow,
        )


def predict_customer(model: SegmentationModel, customer: Mapping[str, Any], *, explained: bool = False) -> Answer:
    """Segment one customer, with description, strategy, confidence, runner-up and flags; nothing is recorded yet.

    A `customer_id` in `customer` is echoed in the answer and logged with it. `explained` adds why (explain=true):
    each feature against the segment's typical range, and what confidence says.
    """
    # Plain rows, no array: for one customer numpy costs more per call than the scoring itself.
    rows = feature_rows(model, [customer])
    scores = model.score_one(rows[0])
    predictions = render_predictions(model, rows, scores)
    if explained:
        add_explanations(model, rows, scores, predictions)
    answer = Answer(predictions[0], model, rows, scores, "single")
    if customer.get("customer_id") is not None:  # null is no id, as if left out
        answer.body["customer_id"] = customer["customer_id"]
        answer.customer_ids = [customer["customer_id"]]
    return answer


def predict_customers(
    model: SegmentationModel,
    customers: Sequence[Mapping[str, float]],
    *,
    source: str = "batch",
    explained: bool = False,
    rendered: bool = False,
) -> Answer:
    """Segment many customers in input order, with the count per segment; nothing is recorded yet.

    `rendered` gives the answer as JSON bytes in `json` (the same bytes orjson makes of `body`), built column-wise
    with no per-customer dict: what a batch route sends as is.
    """
    X = feature_matrix(model, customers)
    scores = model.score(X)
    counts = np.bincount(scores.positions, minlength=model.n_clusters).tolist()
    customer_ids = [customer.get("customer_id") for customer in customers]
    segment_counts = [
        {"segment_id": segment.segment_id, "segment_name": segment.name, "count": count}
        for segment, count in zip(model.segments, counts, strict=True)
    ]
    if rendered:
        body = _rendered_batch(model, X, scores, customer_ids, segment_counts, explained=explained)
        return Answer({}, model, X, scores, source, customer_ids=customer_ids, json=body)
    predictions = render_predictions(model, X, scores)
    if explained:
        add_explanations(model, X, scores, predictions)
    for customer_id, prediction in zip(customer_ids, predictions, strict=True):
        if customer_id is not None:
            prediction["customer_id"] = customer_id
    body = {
        "predictions": predictions,
        "count": len(scores),
        "segment_counts": segment_counts,
        "model_version": model.version,
    }
    return Answer(body, model, X, scores, source, customer_ids=customer_ids)


def _rendered_batch(
    model: SegmentationModel,
    X: np.ndarray,
    scores: Scores,
    customer_ids: list[object],
    segment_counts: list[dict[str, Any]],
    *,
    explained: bool,
) -> bytes:
    """The batch answer as JSON bytes, key for key what orjson makes of `predict_customers`'s body."""
    out_of_range = {
        i: _out_of_range(model, X[i], scores.out_of_range[i]) for i in np.flatnonzero(scores.any_out_of_range).tolist()
    }
    extras: list[bytes] | None = None
    if explained:
        explanations = explanation_dicts(model, explain(model, X, scores), scores)
        extras = [b',"explanation":' + orjson.dumps(explanation) for explanation in explanations]
    if any(customer_id is not None for customer_id in customer_ids):
        extras = extras or [b""] * len(customer_ids)
        extras = [
            extra if customer_id is None else extra + b',"customer_id":' + orjson.dumps(customer_id)
            for extra, customer_id in zip(extras, customer_ids, strict=True)
        ]
    return render_batch(model, scores, out_of_range=out_of_range, extras=extras, segment_counts=segment_counts)
