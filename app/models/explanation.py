"""Why a customer is in their segment: each feature against the segment's typical range, its share of the distance
to the centroid and of the margin over the runner-up, and what the confidence says. Vectorised over many rows."""

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from app.models.model import Scores, SegmentationModel

POSITIONS = ("below", "within", "above")
UNKNOWN = -1  # the version did not record the segment's typical range
# Below this confidence the text says why it is low: the customer is nearly as near the runner-up as their own segment.
LOW_CONFIDENCE = 0.3
# From this confidence it is high: the customer is at most 0.4 times as far from their segment's centre as from the
# runner-up's. Between the two it is moderate: 31% is nearer, not clearly nearer.
HIGH_CONFIDENCE = 0.6
# Why confidence is what it is, by code: one sentence each, picked per row from a small table (no per-row formatting).
HIGH, NEAR_BOUNDARY, FAR_FROM_ALL, ONE_SEGMENT, MODERATE = 0, 1, 2, 3, 4
REASONS = (HIGH, NEAR_BOUNDARY, FAR_FROM_ALL, ONE_SEGMENT, MODERATE)
MEASURES = (
    "Confidence measures how much nearer the customer is to this segment's centre than to the next-nearest "
    "segment's (1 − nearest distance ÷ second-nearest distance, in standardized units): 100% at the centre, 0% on "
    "the boundary between the two"
)
NOT_RECORDED = (
    "version {version} did not record its segments' typical ranges (p10–p90 of their training customers), so "
    "typical_low, typical_high and position are null: retrain to get them"
)


@dataclass(frozen=True)
class Explanations:
    """The explanation of every scored row, as arrays: (n, n_features) per feature, (n,) per row."""

    values: np.ndarray  # the customers' values, in the features' own units
    typical_low: np.ndarray  # the assigned segment's p10 (NaN when the version did not record it)
    typical_high: np.ndarray  # its p90
    position: np.ndarray  # index into POSITIONS, or UNKNOWN
    share_of_distance: np.ndarray  # of the squared standardized distance to the assigned centroid; rows sum to 1
    share_of_margin: np.ndarray  # of d_runner_up^2 - d_assigned^2; rows sum to 1 (NaN: no runner-up, or a tie)
    reason: np.ndarray  # why confidence is what it is: one of REASONS
    missing: list[str]  # what the version did not record, in words


def typical_ranges(model: SegmentationModel) -> tuple[np.ndarray, np.ndarray]:
    """Each segment's p10 and p90 per feature, (k, n_features) in segment order; NaN where not recorded."""
    low = [[_or_nan(segment.stats[f].p10) for f in model.features] for segment in model.segments]
    high = [[_or_nan(segment.stats[f].p90) for f in model.features] for segment in model.segments]
    return np.array(low, dtype=np.float64), np.array(high, dtype=np.float64)


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def explain(model: SegmentationModel, X: np.ndarray, scores: Scores) -> Explanations:
    """Explain the rows of `X` (original units) that `scores` scored, with numpy over the whole batch."""
    values = np.asarray(X, dtype=np.float64).reshape(len(scores), len(model.features))
    positions = scores.positions
    # Where the model measures distance: log1p features transformed, then standardized by the fitted scaler.
    Z = (model.to_model_space(values) - model.mean) / model.scale
    centroids = model.cluster_centers[[segment.kmeans_label for segment in model.segments]]
    own = np.square(Z - centroids[positions])
    total = own.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        # At the centroid itself nothing is off: every feature takes an equal share of the zero distance.
        share_of_distance = np.where(total > 0, own / total, 1.0 / len(model.features))
        has_runner_up = scores.runner_up >= 0
        rival = np.square(Z - centroids[np.where(has_runner_up, scores.runner_up, positions)])
        # Squared distances add up per feature, so the margin splits exactly: rival_f - own_f.
        margin = rival - own
        total_margin = margin.sum(axis=1, keepdims=True)
        share_of_margin = np.where(has_runner_up[:, None] & (total_margin > 0), margin / total_margin, np.nan)
    low, high = typical_ranges(model)
    typical_low, typical_high = low[positions], high[positions]
    position = np.where(values < typical_low, 0, np.where(values > typical_high, 2, 1)).astype(np.int8)
    position[np.isnan(typical_low) | np.isnan(typical_high)] = UNKNOWN
    p95 = np.array([segment.distance_p95 for segment in model.segments])
    far = scores.nearest > p95[positions]
    why_low = np.where(far, FAR_FROM_ALL, NEAR_BOUNDARY)
    reason = np.where(
        scores.confidence >= HIGH_CONFIDENCE, HIGH, np.where(scores.confidence >= LOW_CONFIDENCE, MODERATE, why_low)
    )
    reason = np.where(has_runner_up, reason, ONE_SEGMENT).astype(np.int8)
    missing = [NOT_RECORDED.format(version=model.version)] if np.isnan(low).any() or np.isnan(high).any() else []
    shares = (share_of_distance, share_of_margin)
    return Explanations(values, typical_low, typical_high, position, *shares, reason, missing)


def confidence_texts(model: SegmentationModel) -> list[str]:
    """Every confidence sentence, indexed by `confidence_index`: one per reason, segment and runner-up."""
    return _texts_for(tuple(segment.name for segment in model.segments))


# Keyed by the names, not the model: a renamed segment gets new sentences, and each answer no longer formats 4·k² of
# them (that was most of explain=true's cost on a single predict).
@lru_cache(maxsize=64)
def _texts_for(names: tuple[str, ...]) -> list[str]:
    return [_confidence_text(reason, own, rival) for reason in REASONS for own in names for rival in names]


def confidence_index(model: SegmentationModel, explained: Explanations, scores: Scores) -> np.ndarray:
    """Each row's index into `confidence_texts`."""
    k = model.n_clusters
    rival = np.where(scores.runner_up >= 0, scores.runner_up, scores.positions)
    return (explained.reason.astype(np.intp) * k + scores.positions) * k + rival


def _confidence_text(reason: int, own: str, rival: str) -> str:
    if reason == ONE_SEGMENT:
        return f"{MEASURES}; this version has one segment, so there is no other to be confused with: it is 100%."
    if reason == HIGH:
        why = f"here it is high: the customer is clearly nearer the centre of {own} than that of {rival}."
    elif reason == MODERATE:
        why = f"here it is moderate: the customer is nearer the centre of {own} than that of {rival}, but not by far."
    elif reason == NEAR_BOUNDARY:
        why = (
            f"here it is low because the customer lies near the boundary between {own} and {rival}: almost as near "
            f"the centre of {rival} as that of {own}."
        )
    else:
        why = (
            f"here it is low because the customer lies between {own} and {rival}, far from both centres (farther "
            f"from that of {own} than 95% of its members): almost equally far from the two, they are atypical of both."
        )
    return f"{MEASURES}; {why}"


def number_text(value: float) -> str:
    """A number in a sentence: grouped thousands, at most one decimal."""
    text = f"{value:,.1f}"
    return text[:-2] if text.endswith(".0") else text


def feature_text(model: SegmentationModel, f: int, value: float, low: float, high: float, position: int) -> str:
    """One feature in words: "Income 60 k$ is below this segment's usual 70–137 k$"."""
    spec = model.feature_specs[f]
    unit = f" {spec.short_unit}" if spec.short_unit else ""
    said = f"{spec.noun} {number_text(value)}{unit}"
    if position == UNKNOWN:
        return f"{said}: this version did not record the segment's usual range"
    usual = f"usual {number_text(low)}–{number_text(high)}{unit}"
    if position == 1:
        return f"{said} is within this segment's {usual}"
    return f"{said} is {POSITIONS[position]} this segment's {usual}"


def _number_or_none(value: float) -> float | None:
    return None if math.isnan(value) else value


def explanation_dicts(model: SegmentationModel, explained: Explanations, scores: Scores) -> list[dict[str, Any]]:
    """One `explanation` object per row, as the JSON API answers it."""
    texts = confidence_texts(model)
    picks = confidence_index(model, explained, scores).tolist()
    columns = zip(
        explained.values.tolist(),
        explained.typical_low.tolist(),
        explained.typical_high.tolist(),
        explained.position.tolist(),
        explained.share_of_distance.tolist(),
        explained.share_of_margin.tolist(),
        strict=True,
    )
    answers = []
    for row, (values, lows, highs, places, distance_shares, margin_shares) in enumerate(columns):
        features = []
        for f, name in enumerate(model.features):
            low, high, place = _number_or_none(lows[f]), _number_or_none(highs[f]), places[f]
            features.append(
                {
                    "feature": name,
                    "value": values[f],
                    "typical_low": low,
                    "typical_high": high,
                    "position": None if place == UNKNOWN else POSITIONS[place],
                    "text": feature_text(model, f, values[f], lows[f], highs[f], place),
                    "share_of_distance": distance_shares[f],
                    "share_of_margin": _number_or_none(margin_shares[f]),
                }
            )
        answer: dict[str, Any] = {"features": features, "confidence_text": texts[picks[row]]}
        if explained.missing:
            answer["missing"] = explained.missing
        answers.append(answer)
    return answers
