"""Predictions while a challenger runs: which arm serves each customer, and a shadow challenger's scores.

Only called when the registry has a challenger: without one the routes take the plain prediction path, untouched.
"""

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core.errors import InvalidRequest
from app.models.model import SegmentationModel
from app.models.versions.challenger import CHALLENGER, CHAMPION, Challenger, arm_of
from app.services.challenger.assignments import AssignmentWriter
from app.services.monitoring.prediction_log import PredictionLogWriter
from app.services.prediction import Answer

# Predicts with the given model: the route's own service call (flat body, or a segmentation's features).
PredictOne = Callable[[SegmentationModel], Answer]
PredictMany = Callable[[SegmentationModel, Sequence[Mapping[str, Any]]], Answer]


@dataclass(slots=True)
class ChallengerAnswer:
    """One response built from one or two arms' answers; recording counts and logs each, and queues assignments."""

    body: dict[str, Any]
    parts: list[Answer]
    challenger: Challenger
    segmentation: str
    assignments: AssignmentWriter | None = None
    # (customer id, arm, version that served it) for every customer with an id.
    assigned: list[tuple[object, str, str]] = field(default_factory=list)

    def record(self, *, log: PredictionLogWriter | None, request_id: str | None) -> None:
        """Count and log every part, then queue the assignments (no I/O here)."""
        for part in self.parts:
            part.record(log=log, request_id=request_id)
        if self.assignments is not None and self.assigned:
            self.assignments.submit(
                segmentation=self.segmentation,
                challenger_version=self.challenger.version,
                set_at=self.challenger.set_at,
                mode=self.challenger.mode,
                rows=self.assigned,
            )


def _arm(challenger: Challenger, segmentation: str, customer_id: object) -> str:
    """Split mode sends a stable share of ids to the challenger; no id, or shadow mode, means the champion."""
    if customer_id is None or challenger.mode != "split":
        return CHAMPION
    return arm_of(segmentation, customer_id, challenger.share)


def _shadow_ids(challenger: Challenger, X: Any, single: bool) -> list[int]:
    """The challenger's segment id for each row the champion answered."""
    model = challenger.model
    if single:  # the position alone, in plain Python: the single-predict hot path
        return [model.segments[model.predict_one(X[0])[0]].segment_id]
    positions = model.score(np.asarray(X, dtype=np.float64)).positions
    return [model.segments[position].segment_id for position in positions.tolist()]


def predict_one(
    *,
    champion: SegmentationModel,
    challenger: Challenger,
    customer_id: object,
    segmentation: str,
    predict: PredictOne,
    assignments: AssignmentWriter | None,
) -> ChallengerAnswer:
    """One customer: the arm's model answers, with `arm`; in shadow mode the challenger scores it too."""
    arm = _arm(challenger, segmentation, customer_id)
    model = challenger.model if arm == CHALLENGER else champion
    answer = predict(model)
    answer.segmentation, answer.arm = segmentation, arm
    answer.body["arm"] = arm
    if challenger.mode == "shadow":
        answer.shadow = (challenger.version, _shadow_ids(challenger, answer.X, single=True))
    assigned = [] if customer_id is None else [(customer_id, arm, model.version)]
    return ChallengerAnswer(answer.body, [answer], challenger, segmentation, assignments, assigned)


def answer_one(
    model: SegmentationModel,
    challenger: Challenger | None,
    *,
    customer_id: object,
    segmentation: str,
    predict: PredictOne,
    assignments: AssignmentWriter | None,
) -> Answer | ChallengerAnswer:
    """One customer, answered by `model`, or while a challenger runs by the arm it picks (`predict_one`)."""
    if challenger is None:
        return predict(model)
    return predict_one(
        champion=model,
        challenger=challenger,
        customer_id=customer_id,
        segmentation=segmentation,
        predict=predict,
        assignments=assignments,
    )


def _merge(champion_part: Answer, challenger_part: Answer, order: list[tuple[str, int]]) -> dict[str, Any]:
    """Both arms' predictions back in input order; segment counts summed by segment (ids name one segment)."""
    parts = {CHAMPION: champion_part.body["predictions"], CHALLENGER: challenger_part.body["predictions"]}
    counts: dict[tuple[int, str], int] = {}
    for part in (champion_part, challenger_part):
        for entry in part.body["segment_counts"]:
            key = (entry["segment_id"], entry["segment_name"])
            counts[key] = counts.get(key, 0) + entry["count"]
    return {
        "predictions": [parts[arm][index] for arm, index in order],
        "count": len(order),
        "segment_counts": [
            {"segment_id": segment_id, "segment_name": name, "count": count}
            for (segment_id, name), count in sorted(counts.items())
        ],
        "model_version": champion_part.body["model_version"],
    }


def _at_input_index(error: InvalidRequest, indexes: list[int]) -> InvalidRequest:
    """An error about `customers[i]` of one arm's part, renamed to the customer's index in the request."""
    match = re.match(r"customers\[(\d+)\]", error.message)
    if match is None:
        return error
    return InvalidRequest(f"customers[{indexes[int(match.group(1))]}]{error.message[match.end() :]}")


def predict_many(
    *,
    champion: SegmentationModel,
    challenger: Challenger,
    customers: Sequence[Mapping[str, Any]],
    segmentation: str,
    predict: PredictMany,
    assignments: AssignmentWriter | None,
) -> ChallengerAnswer:
    """A batch: each customer served by its arm (per item `arm` and `model_version`), in input order."""
    ids = [customer.get("customer_id") for customer in customers]
    arms = [_arm(challenger, segmentation, customer_id) for customer_id in ids]
    groups: dict[str, list[int]] = {CHAMPION: [], CHALLENGER: []}
    for index, arm in enumerate(arms):
        groups[arm].append(index)
    parts: dict[str, Answer] = {}
    for arm, indexes in groups.items():
        if not indexes:
            continue
        model = challenger.model if arm == CHALLENGER else champion
        whole = len(indexes) == len(customers)
        try:
            part = predict(model, customers if whole else [customers[i] for i in indexes])
        except InvalidRequest as exc:
            raise _at_input_index(exc, indexes) if not whole else exc from None
        part.segmentation, part.arm = segmentation, arm
        for rendered in part.body["predictions"]:
            rendered["arm"] = arm
        parts[arm] = part
    if len(parts) == 2:
        order: list[tuple[str, int]] = [(CHAMPION, 0)] * len(arms)
        for arm, indexes in groups.items():
            for position, index in enumerate(indexes):
                order[index] = (arm, position)
        body = _merge(parts[CHAMPION], parts[CHALLENGER], order)
    else:
        body = next(iter(parts.values())).body
    if challenger.mode == "shadow":
        part = parts[CHAMPION]
        part.shadow = (challenger.version, _shadow_ids(challenger, part.X, single=False))
    versions = {CHAMPION: champion.version, CHALLENGER: challenger.version}
    assigned = [(i, arm, versions[arm]) for i, arm in zip(ids, arms, strict=True) if i is not None]
    return ChallengerAnswer(body, list(parts.values()), challenger, segmentation, assignments, assigned)
