"""Predictions for a segmentation's own body: `{"features": {...}}`, or an RFM customer's transactions."""

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from app.core.errors import InvalidRequest
from app.models.model import SegmentationModel
from app.schemas.segmentations import FeaturesCustomerIn
from app.services.prediction import Answer, predict_customer, predict_customers
from app.services.segmentations import feature_values


def customer_values(
    model: SegmentationModel, customer: FeaturesCustomerIn, rfm: Callable[[], dict[str, float]] | None = None
) -> dict[str, Any]:
    """The customer's feature values, checked against the served version (from transactions for RFM; `rfm`: their
    RFM built already, with the rest of a batch)."""
    features = customer.get("features")
    if "transactions" in customer:
        if features is not None:
            raise InvalidRequest("give the customer's features or their transactions, not both")
        if rfm is not None:
            return feature_values(model, rfm())
        from app.services.rfm_customer import rfm_values  # RFM only: pulls in the transactions rules

        values = rfm_values(model, customer["transactions"], reference_date=customer.get("reference_date"))
        return feature_values(model, values)
    if "reference_date" in customer:
        raise InvalidRequest("reference_date goes with transactions: give the customer's transactions too")
    if features is None:
        names = ", ".join(model.features)
        raise InvalidRequest(f"give the customer's features: an object with {names}")
    return feature_values(model, features)


def predict_by_features(
    model: SegmentationModel, customer: FeaturesCustomerIn, *, segmentation: str, explained: bool = False
) -> Answer:
    """Segment one customer given by features (or transactions); nothing is recorded yet."""
    values = customer_values(model, customer)
    if customer.get("customer_id") is not None:
        values["customer_id"] = customer["customer_id"]
    answer = predict_customer(model, values, explained=explained)
    answer.segmentation = segmentation
    return answer


def predict_many_by_features(
    model: SegmentationModel,
    customers: Sequence[FeaturesCustomerIn],
    *,
    segmentation: str,
    explained: bool = False,
    rendered: bool = False,
) -> Answer:
    """Segment many customers given by features, in input order; nothing is recorded yet (`rendered`: as JSON
    bytes, see predict_customers)."""
    rows = []
    batch = None
    if any("transactions" in customer for customer in customers):
        from app.services.rfm_customer import RfmBatch  # RFM only: pulls in the transactions rules

        # Built in one pass: one customer at a time cost milliseconds each, seconds of CPU for a batch.
        batch = RfmBatch(model, customers)
    for index, customer in enumerate(customers):
        try:
            rfm = None if batch is None else partial(batch.values, index)
            values = customer_values(model, customer, rfm)
        except InvalidRequest as exc:
            raise InvalidRequest(f"customers[{index}]: {exc.message}") from None
        if customer.get("customer_id") is not None:
            values["customer_id"] = customer["customer_id"]
        rows.append(values)
    answer = predict_customers(model, rows, explained=explained, rendered=rendered)
    answer.segmentation = segmentation
    return answer
