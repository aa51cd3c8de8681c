"""Predictions for a segmentation's own body: `{"features": {...}}`, or an RFM customer's transactions."""

from collections.abc import Sequence
from typing import Any

from app.core.errors import InvalidRequest
from app.models.model import SegmentationModel
from app.schemas.segmentations import FeaturesCustomerIn
from app.services.prediction import Answer, predict_customer, predict_customers
from app.services.segmentations import feature_values


def customer_values(model: SegmentationModel, customer: FeaturesCustomerIn) -> dict[str, Any]:
    """The customer's feature values, checked against the served version (from transactions for RFM)."""
    features = customer.get("features")
    if "transactions" in customer:
        if features is not None:
            raise InvalidRequest("give the customer's features or their transactions, not both")
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
    for index, customer in enumerate(customers):
        try:
            values = customer_values(model, customer)
        except InvalidRequest as exc:
            raise InvalidRequest(f"customers[{index}]: {exc.message}") from None
        if customer.get("customer_id") is not None:
            values["customer_id"] = customer["customer_id"]
        rows.append(values)
    answer = predict_customers(model, rows, explained=explained, rendered=rendered)
    answer.segmentation = segmentation
    return answer
