"""A segmentation's feature values checked against the served version, in a body and in a file."""

from pathlib import Path

import pytest

from app.core.errors import InvalidRequest
from app.models.features import Feature
from app.models.model import SegmentationModel
from app.models.synthetic_crm import write_crm
from app.models.training import train
from app.services.scoring.files import score_file
from app.services.scoring.options import ScoreOptions
from app.services.segmentations import feature_values

SPECS = [
    Feature.from_dict({"name": "income", "column": "Income", "label": "Income", "unit": "$", "transform": "log1p"}),
    Feature.from_dict({"name": "visits", "column": "Visits", "label": "Visits"}),
    Feature.from_dict({"name": "tenure", "column": "Tenure", "label": "Tenure", "unit": "years"}),
]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> SegmentationModel:
    folder = tmp_path_factory.mktemp("crm")
    return train(write_crm(folder / "crm.csv"), output_dir=folder / "models", specs=SPECS, k=3).model


def test_values_in_range_pass_as_given(model: SegmentationModel) -> None:
    body = {"income": 50_000, "visits": 3, "tenure": 2}
    assert feature_values(model, body) == body


@pytest.mark.parametrize("value", [1e200, -1e200, 1e12])
def test_a_finite_but_absurd_value_is_refused_naming_the_feature(model: SegmentationModel, value: float) -> None:
    with pytest.raises(InvalidRequest, match=r"visits is .* too far from anything this model was trained on"):
        feature_values(model, {"income": 50_000, "visits": value, "tenure": 2})


def test_a_file_row_with_an_absurd_value_is_a_bad_row_not_an_infinite_distance(
    model: SegmentationModel, tmp_path: Path
) -> None:
    path = tmp_path / "absurd.csv"
    path.write_text("CustomerID,Income,Visits,Tenure\n1,50000,3,2\n2,50000,1e200,2\n3,50000,4,1e300\n")
    summary = score_file(model, path, options=ScoreOptions(), target=None, spool_rows=10).summary
    assert summary.scored == 1
    assert summary.errors == {"Visits too far from the training data": 1, "Tenure too far from the training data": 1}


def test_a_file_of_dollar_amounts_with_signs_gets_advice_in_the_features_own_unit(
    model: SegmentationModel, tmp_path: Path
) -> None:
    from app.services.scoring.diagnosis import explain_unscored

    path = tmp_path / "signs.csv"
    path.write_text('CustomerID,Income,Visits,Tenure\n1,"$45,000",3,2\n2,"$52,000",4,5\n')
    summary = score_file(model, path, options=ScoreOptions(), target=None, spool_rows=10).summary
    diagnosis = explain_unscored(model, path, summary)
    assert diagnosis is not None and diagnosis.cause == "currency"
    assert "write $45,000 as 45000" in diagnosis.message and "k$" not in diagnosis.message


def test_a_file_in_another_unit_scores_but_warns_which_feature_looks_off(
    model: SegmentationModel, tmp_path: Path
) -> None:
    from app.services.scoring.diagnosis import unit_warnings

    # Income in k$ for a segmentation trained in dollars: every row scores, every income is far below the range.
    path = tmp_path / "k.csv"
    path.write_text("CustomerID,Income,Visits,Tenure\n" + "".join(f"{i},{40 + i},{3},{2}\n" for i in range(30)))
    summary = score_file(model, path, options=ScoreOptions(), target=None, spool_rows=10).summary
    assert summary.scored == 30
    [warning] = unit_warnings(model, path, summary)
    assert "income" in warning.lower() and "1,000" in warning
    fine = tmp_path / "fine.csv"
    fine.write_text("CustomerID,Income,Visits,Tenure\n1,52000,3,2\n2,61000,5,4\n")
    summary = score_file(model, fine, options=ScoreOptions(), target=None, spool_rows=10).summary
    assert unit_warnings(model, fine, summary) == []
