"""An RFM segmentation's customer given by transactions: their recency, frequency and monetary for the model."""

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from app.core.errors import InvalidRequest
from app.models.model import SegmentationModel
from app.models.rfm.batch import build_rfm_rows
from app.models.rfm.transactions import build_rfm_from_transactions
from app.models.segmentations.spec import RFM_FEATURES, RfmOptions
from app.utils.moments import EARLIEST_DAY, LATEST_DAY

RFM_NAMES = [feature.name for feature in RFM_FEATURES]


def training_reference_date(model: SegmentationModel) -> date | None:
    """The day the version's training data counted recency to (None for a version trained on features)."""
    text = (model.info.get("rfm_summary") or {}).get("reference_date")
    return date.fromisoformat(text) if text else None


def rfm_values(
    model: SegmentationModel, transactions: Sequence[Mapping[str, Any]], *, reference_date: date | None
) -> dict[str, float]:
    """One customer's RFM features from their transactions, by the rules the version was trained with.

    Recency counts to `reference_date`, else to the training data's reference day: a customer is then placed
    among the customers the model was trained on, as they stood on that day.
    """
    if sorted(model.features) != sorted(RFM_NAMES):
        raise InvalidRequest("transactions are taken by RFM segmentations only: give this customer's features")
    if reference_date is not None and not EARLIEST_DAY <= reference_date <= LATEST_DAY:
        raise InvalidRequest(f"reference_date must be between {EARLIEST_DAY} and {LATEST_DAY}, got {reference_date}")
    # The version's own rules: its date format (when it was given one), net total or average, and returns.
    options = RfmOptions.from_dict(model.info.get("rfm_options"))
    row = build_rfm_from_transactions(
        [dict(item) for item in transactions],
        reference_date or training_reference_date(model),
        options=options,
    )
    return {name: float(row[name]) for name in RFM_NAMES}


class RfmBatch:
    """A batch's RFM customers built in one pass (models.rfm.batch), each answered as `rfm_values` answers them."""

    def __init__(self, model: SegmentationModel, customers: Sequence[Mapping[str, Any]]) -> None:
        self.model = model
        self.customers = customers
        self.rows: list[dict[str, float] | None] = [None] * len(customers)
        if sorted(model.features) != sorted(RFM_NAMES):
            return  # every customer by transactions is refused by rfm_values
        trained = training_reference_date(model)
        at, built = [], []
        for index, customer in enumerate(customers):
            reference = customer.get("reference_date")
            refused = reference is not None and not EARLIEST_DAY <= reference <= LATEST_DAY
            if "transactions" not in customer or refused:
                continue  # not by transactions, or a reference date rfm_values refuses
            at.append(index)
            built.append((customer["transactions"], reference or trained))
        options = RfmOptions.from_dict(self.model.info.get("rfm_options"))
        for index, row in zip(at, build_rfm_rows(built, options=options), strict=True):
            self.rows[index] = row

    def values(self, index: int) -> dict[str, float]:
        """The customer at `index`'s RFM features; their own build answers any the one pass left out."""
        row = self.rows[index]
        if row is not None:
            return dict(row)
        customer = self.customers[index]
        return rfm_values(self.model, customer["transactions"], reference_date=customer.get("reference_date"))
