"""One RFM customer's transactions, read by the rules of the version that scores them."""

from datetime import date
from pathlib import Path

import pytest

from app.core.errors import InvalidRequest
from app.models.model import SegmentationModel
from app.models.segmentations.catalog import SegmentationCatalog
from app.models.segmentations.spec import SegmentationSpec
from app.models.segmentations.training import train_segmentation
from app.models.synthetic_transactions import write_transactions
from app.services.rfm_customer import rfm_values, training_reference_date


@pytest.fixture(scope="module")
def rfm_model(tmp_path_factory: pytest.TempPathFactory) -> SegmentationModel:
    root = tmp_path_factory.mktemp("rfm")
    path, _ = write_transactions(root / "t.csv", customers=300, seed=3)
    spec = SegmentationCatalog(root).create(SegmentationSpec.from_dict({"name": "rfm", "kind": "rfm"}))
    return train_segmentation(spec, path, models_root=root, k=4, sweep=False).model


def test_recency_counts_to_the_training_reference_day_unless_given(rfm_model: SegmentationModel) -> None:
    reference = training_reference_date(rfm_model)
    assert reference is not None
    values = rfm_values(rfm_model, [{"date": reference.replace(day=1).isoformat(), "amount": 40}], reference_date=None)
    assert values["recency_days"] == (reference - reference.replace(day=1)).days
    given = rfm_values(rfm_model, [{"date": "2011-12-01", "amount": 40}], reference_date=date(2011, 12, 11))
    assert given == {"recency_days": 10.0, "frequency": 1.0, "monetary": 40.0}


def test_the_versions_date_format_reads_an_ambiguous_date(rfm_model: SegmentationModel) -> None:
    one = [{"date": "01/12/11 10:00", "amount": 40}]
    guessed = rfm_values(rfm_model, one, reference_date=date(2011, 12, 11))
    assert guessed["recency_days"] > 300  # no field above 12: read month-first, the 12th of January
    day_first = SegmentationModel(
        rfm_model.features, rfm_model.mean, rfm_model.scale, rfm_model.cluster_centers, rfm_model.segments,
        {**rfm_model.info, "rfm_options": {**rfm_model.info["rfm_options"], "date_format": "%d/%m/%y %H:%M"}},
    )  # fmt: skip
    assert rfm_values(day_first, one, reference_date=date(2011, 12, 11))["recency_days"] == 10.0
    with pytest.raises(InvalidRequest, match="date"):
        rfm_values(day_first, [{"date": "2011-12-01", "amount": 4}], reference_date=None)


def test_transactions_are_for_rfm_versions_only(model: SegmentationModel, tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="RFM segmentations only"):
        rfm_values(model, [{"date": "2011-12-01", "amount": 4}], reference_date=None)
