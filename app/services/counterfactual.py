"""What would move a customer into a chosen segment: the request checked, the model asked, the answer shaped."""

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from app.core.errors import InvalidRequest, ModelNotReady
from app.models.counterfactual import counterfactual, segment_position
from app.models.model import SegmentationModel
from app.models.versions.registry import ModelRegistry
from app.schemas.segmentations import FeaturesCustomerIn
from app.services.segmentation_predictions import customer_values
from app.services.segmentations import example_features, feature_values


def feature_weights(model: SegmentationModel, weights: Mapping[str, float]) -> list[float]:
    """One weight per feature in model order (1 unless given); a name the model does not have is a 422."""
    _check_names(model, weights, "weights")
    for name, weight in weights.items():
        if not (weight > 0 and math.isfinite(weight)):
            raise InvalidRequest(f"weights: {name} is {weight:g}; a weight must be a positive number")
    return [float(weights.get(name, 1.0)) for name in model.features]


def _check_names(model: SegmentationModel, names: Any, field: str) -> None:
    unknown = [name for name in names if name not in model.features]
    if unknown:
        raise InvalidRequest(
            f"{field}: unknown feature {unknown[0][:40]!r}; this model's features are {', '.join(model.features)}"
        )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def counterfactual_of_customer(
    *,
    model: SegmentationModel,
    customer: Mapping[str, Any],
    target: int | str,
    immutable: list[str],
    weights: Mapping[str, float],
) -> dict[str, Any]:
    """The smallest move into `target` for a flat predict body's customer (values checked against the model).

    The customer is the same object as a predict body: its `customer_id`, when given, names them and moves nothing.
    """
    values = feature_values(model, {name: value for name, value in customer.items() if name != "customer_id"})
    return counterfactual_answer(model=model, values=values, target=target, immutable=immutable, weights=weights)


def counterfactual_by_features(
    *,
    model: SegmentationModel,
    customer: FeaturesCustomerIn,
    target: int | str,
    immutable: list[str],
    weights: Mapping[str, float],
) -> dict[str, Any]:
    """The smallest move into `target` for a segmentation's customer (`{"features": ...}` or RFM transactions)."""
    values = customer_values(model, customer)
    return counterfactual_answer(model=model, values=values, target=target, immutable=immutable, weights=weights)


def counterfactual_answer(
    *,
    model: SegmentationModel,
    values: Mapping[str, float],
    target: int | str,
    immutable: list[str],
    weights: Mapping[str, float],
) -> dict[str, Any]:
    """The smallest change (in the features' units) that moves a customer (checked values) into `target`."""
    position = segment_position(model, target)
    _check_names(model, immutable, "immutable")
    row = [float(values[name]) for name in model.features]
    found = counterfactual(
        model, row, position, weights=feature_weights(model, weights), immutable=frozenset(immutable)
    )
    current, wanted = model.segments[found.current], model.segments[position]
    return {
        "customer": dict(zip(model.features, row, strict=True)),
        "current_segment": {"segment_id": current.segment_id, "segment_name": current.name},
        "target_segment": {"segment_id": wanted.segment_id, "segment_name": wanted.name},
        "reachable": found.reachable,
        "reason": found.reason,
        "target_point": _target_point(model, row, found.change.tolist()) if found.reachable else None,
        "changes": dict(zip(model.features, found.change.tolist(), strict=True)) if found.reachable else None,
        "distance": _finite(found.distance),
        "model_version": model.version,
    }


def _target_point(model: SegmentationModel, row: list[float], change: list[float]) -> dict[str, float]:
    """The customer plus the rounded change, added as the decimals they are: in floats 77.7 - 19.9 is
    57.800000000000004, and 10000 - 9942.2 is 57.79999999999927."""
    return {
        name: float(Decimal(repr(value)) + Decimal(repr(step)))
        for name, value, step in zip(model.features, row, change, strict=True)
    }


def example_request(registry: ModelRegistry) -> dict[str, Any] | None:
    """A request for /docs from the served version: its example customer and the nearest segment they are not in.

    None until a version is served: segment ids (and names, which teams rename) exist only in a trained version.
    """
    try:
        model = registry.get()
    except ModelNotReady:
        return None
    features = example_features(model.feature_specs, model)
    current, distances = model.predict_one([features[name] for name in model.features])
    others = [position for position in range(len(model.segments)) if position != current]
    target = min(others, key=distances.__getitem__, default=current)
    return {"customer": {"features": features}, "target_segment": model.segments[target].segment_id}
