"""Business logic behind the API and pages: predictions with advice, segment statistics, model facts."""

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

import numpy as np
import orjson

from app.core.errors import InvalidRequest, UnknownSegment
from app.models.segmenter import Segment, SegmentationModel
from app.services.model_state import ModelState


def predict_customer(model: SegmentationModel, *, annual_income: float, spending_score: float) -> dict[str, Any]:
    """Segment one customer, with description, strategy, confidence and runner-up."""
    (values,) = _feature_rows(model, [{"annual_income": annual_income, "spending_score": spending_score}])
    position, distances = model.predict_one(values)
    segment, nearest = model.segments[position], distances[position]
    others = [i for i in range(len(distances)) if i != position]
    runner_up = None
    confidence = 1.0
    if others:
        second = min(others, key=distances.__getitem__)
        runner = model.segments[second]
        runner_up = {"segment_id": runner.segment_id, "segment_name": runner.name, "distance": distances[second]}
        # 1 at the centroid, 0 on the boundary with the runner-up; the batch path computes the same.
        if distances[second] > 0:
            confidence = 1.0 - nearest / distances[second]
    return {
        "segment_id": segment.segment_id,
        "segment_name": segment.name,
        "description": segment.description,
        "marketing_strategy": segment.strategy,
        "distance": nearest,
        "distances": dict(zip(model.segment_keys, distances, strict=True)),
        "confidence": confidence,
        "runner_up": runner_up,
        "is_atypical": nearest > segment.distance_p95,
        "model_version": model.version,
    }


def predict_customers(
    model: SegmentationModel, *, customers: Sequence[Mapping[str, float]], max_batch_size: int
) -> dict[str, Any]:
    """Segment many customers in input order, vectorised, with counts per segment (render with orjson)."""
    if len(customers) > max_batch_size:
        raise InvalidRequest(
            f"too many customers: at most {max_batch_size} per request, got {len(customers)}; split the batch"
        )
    X = np.array(_feature_rows(model, customers), dtype=np.float64).reshape(len(customers), len(model.features))
    positions, distances = model.predict(X)
    rows = np.arange(len(X))
    nearest = distances[rows, positions]
    others = np.array(distances)
    others[rows, positions] = np.inf
    second = others.argmin(axis=1)
    second_distance = others[rows, second]
    finite = (second_distance > 0) & np.isfinite(second_distance)
    with np.errstate(divide="ignore", invalid="ignore"):
        confidence = np.where(finite, 1.0 - nearest / second_distance, 1.0)
    atypical = nearest > np.array([segment.distance_p95 for segment in model.segments])[positions]

    keys, version = model.segment_keys, model.version
    ids = [segment.segment_id for segment in model.segments]
    names = [segment.name for segment in model.segments]
    # Texts repeat on every row: serialise them once and let orjson copy the bytes.
    descriptions = [orjson.Fragment(orjson.dumps(segment.description)) for segment in model.segments]
    strategies = [orjson.Fragment(orjson.dumps(segment.strategy)) for segment in model.segments]
    has_runner_up = model.n_clusters > 1
    # One dict literal per row: this loop is the hot spot of a 10,000-customer request.
    predictions = [
        {
            "segment_id": ids[position],
            "segment_name": names[position],
            "description": descriptions[position],
            "marketing_strategy": strategies[position],
            "distance": distance,
            "distances": dict(zip(keys, row, strict=True)),
            "confidence": conf,
            "runner_up": {"segment_id": ids[runner], "segment_name": names[runner], "distance": runner_distance}
            if has_runner_up
            else None,
            "is_atypical": flag,
            "model_version": version,
        }
        for position, distance, row, conf, runner, runner_distance, flag in zip(
            positions.tolist(),
            nearest.tolist(),
            distances.tolist(),
            confidence.tolist(),
            second.tolist(),
            second_distance.tolist(),
            atypical.tolist(),
            strict=True,
        )
    ]
    counts = np.bincount(positions, minlength=model.n_clusters).tolist()
    return {
        "predictions": predictions,
        "count": len(predictions),
        "segment_counts": [
            {"segment_id": segment.segment_id, "segment_name": segment.name, "count": count}
            for segment, count in zip(model.segments, counts, strict=True)
        ],
        "model_version": version,
    }


def _feature_rows(model: SegmentationModel, customers: Sequence[Mapping[str, float]]) -> list[tuple[float, ...]]:
    """Each customer's values of the model's features, in model order."""
    names = model.features
    getter = itemgetter(*names) if len(names) > 1 else (lambda customer: (customer[names[0]],))
    try:
        return [getter(customer) for customer in customers]
    except KeyError as exc:
        raise InvalidRequest(f"this model also needs '{exc.args[0]}', which the request does not give") from None


def _stats(model: SegmentationModel, segment: Segment) -> dict[str, Any]:
    return {
        "segment_id": segment.segment_id,
        "segment_name": segment.name,
        "size": segment.size,
        "share": segment.share,
        "centroid": segment.centroid,
        "features": {name: stats.__dict__ for name, stats in segment.stats.items()},
    }


def _info(segment: Segment) -> dict[str, Any]:
    return {
        "segment_id": segment.segment_id,
        "segment_name": segment.name,
        "description": segment.description,
        "marketing_strategy": segment.strategy,
        "characteristics": segment.characteristics,
        "levels": segment.levels,
    }


def cluster_statistics(model: SegmentationModel) -> dict[str, Any]:
    """Size, share, centroid and per-feature statistics of every segment."""
    return {
        "model_version": model.version,
        "n_samples": model.info["n_samples"],
        "segments": [_stats(model, segment) for segment in model.segments],
    }


def cluster_descriptions(model: SegmentationModel) -> dict[str, Any]:
    """Name, description, strategy and characteristics of every segment."""
    return {"model_version": model.version, "segments": [_info(segment) for segment in model.segments]}


def cluster_detail(model: SegmentationModel, *, segment_id: int) -> dict[str, Any]:
    """Statistics and meaning of one segment, by stable id."""
    segment = model.segment(segment_id)
    if segment is None:
        known = ", ".join(str(s.segment_id) for s in model.segments)
        raise UnknownSegment(f"no segment with id {segment_id}; this model has segment ids {known}")
    return {**_stats(model, segment), **_info(segment), "model_version": model.version}


def model_facts(model: SegmentationModel) -> dict[str, Any]:
    """Metadata of the loaded model: what it is, how it was trained and how good it is."""
    return {key: value for key, value in model.info.items() if key != "map_sample"} | {"version": model.version}


def health_report(state: ModelState, *, app_version: str, now: float) -> dict[str, Any]:
    """Readiness of the service: ok with the model version, or unavailable with the reason."""
    return {
        "status": "ok" if state.ready else "unavailable",
        "model_loaded": state.ready,
        "model_version": state.model.version if state.model else None,
        "uptime_seconds": round(now - state.started_at, 3),
        "app_version": app_version,
        "reason": state.reason,
    }
