"""column= (ScoreOptions.feature_columns): a file's own column for any feature of the segmentation."""

import csv
import io
from pathlib import Path

import pytest

from app.core.errors import InvalidRequest
from app.models.features import Feature
from app.models.model import SegmentationModel
from app.models.synthetic_crm import write_crm
from app.models.training import train
from app.services.scoring.csv_io import score_csv
from app.services.scoring.options import ScoreOptions
from tests.services.test_scoring import run

# A segmentation over chosen columns: tenure_months is read from Tenure, so a feature's name need not be its column's.
CRM_SPECS = [
    Feature.from_dict({"name": "income", "column": "Income", "label": "Income", "unit": "$", "transform": "log1p"}),
    Feature.from_dict({"name": "visits", "column": "Visits", "label": "Visits"}),
    Feature.from_dict({"name": "tenure_months", "column": "Tenure", "label": "Tenure", "unit": "years"}),
]
# The same export as another tool writes it: every feature under another name (a colon and accents included).
RENAMED = {"Income": "Revenu annuel (€)", "Visits": "Visits: per month", "Tenure": "Ancienneté"}
MAPPING = (("income", RENAMED["Income"]), ("visits", RENAMED["Visits"]), ("tenure_months", RENAMED["Tenure"]))


def train_crm(folder: Path) -> SegmentationModel:
    """A three-feature segmentation trained on the generated CRM export (columns Income, Visits, Tenure)."""
    return train(write_crm(folder / "crm.csv"), output_dir=folder / "models", specs=CRM_SPECS, k=3).model


def renamed_crm(text: str) -> str:
    """The CRM export with RENAMED's header; the rows as they were."""
    header, _, rows = text.partition("\n")
    names = [RENAMED.get(name, name) for name in next(csv.reader([header]))]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(names)
    return out.getvalue() + rows


@pytest.fixture(scope="module")
def crm_model(tmp_path_factory: pytest.TempPathFactory) -> SegmentationModel:
    return train_crm(tmp_path_factory.mktemp("crm"))


@pytest.fixture(scope="module")
def crm_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_crm(tmp_path_factory.mktemp("crm-file") / "crm.csv", rows=300, seed=11).read_text()


def _scored(model: SegmentationModel, text: str, **options) -> tuple[list[str], dict]:
    """Score text; the output's lines after its header, and the summary."""
    sink = io.BytesIO()
    summary = score_csv(model, io.BytesIO(text.encode()), sink, options=ScoreOptions(chunk_rows=64, **options))
    return sink.getvalue().decode().splitlines()[1:], summary.to_dict()


def test_mapped_columns_score_as_the_same_file_under_the_feature_columns(crm_model, crm_text):
    as_named, named_summary = _scored(crm_model, crm_text)
    renamed = renamed_crm(crm_text)
    as_mapped, mapped_summary = _scored(crm_model, renamed, feature_columns=MAPPING)
    assert len(as_mapped) == 300 and as_mapped == as_named  # every row's values and score columns, byte for byte
    assert mapped_summary["segments"] == named_summary["segments"]
    original = {"income": "Income", "visits": "Visits", "tenure_months": "Tenure"}
    assert mapped_summary["columns"] | original == named_summary["columns"]
    assert mapped_summary["columns"]["visits"] == "Visits: per month"


def test_a_feature_left_out_of_the_mapping_is_found_by_its_own_column(crm_model, crm_text):
    text = crm_text.replace("Tenure", "Ancienneté", 1)
    as_named, _ = _scored(crm_model, crm_text)
    as_mapped, summary = _scored(crm_model, text, feature_columns=(("tenure_months", "Ancienneté"),))
    assert as_mapped == as_named
    assert summary["columns"]["income"] == "Income" and summary["columns"]["tenure_months"] == "Ancienneté"


def test_a_mapping_settles_two_columns_that_could_each_be_the_feature(crm_model):
    text = "VISITS,visits_,Income,Tenure\n3,99,50000,2\n"
    with pytest.raises(InvalidRequest, match="could each be 'Visits'"):
        run(crm_model, text)
    _, summary, _ = run(crm_model, text, feature_columns=(("visits", "VISITS"),))
    assert summary["scored"] == 1 and summary["columns"]["visits"] == "VISITS"


def test_column_for_a_default_feature_is_income_column(model):
    text = "ref;revenue;score\nA;120;90\nB;20;10\n"
    *_, by_parameter = run(model, text, income_column="revenue", spending_column="score")
    *_, by_column = run(model, text, feature_columns=(("annual_income", "revenue"), ("spending_score", "score")))
    *_, mixed = run(model, text, income_column="revenue", feature_columns=(("spending_score", "score"),))
    assert by_column == by_parameter == mixed
    assert "VIP / Whale" in by_column
    # Both forms naming the same column for one feature agree: nothing to refuse.
    *_, both = run(
        model, text, income_column="revenue", spending_column="score", feature_columns=(("annual_income", "revenue"),)
    )
    assert both == by_parameter


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"income_column": "revenue", "feature_columns": (("annual_income", "income"),)},
            "income_column= names 'revenue' and column= names 'income' for annual_income: give one column for each",
        ),
        (
            {"feature_columns": (("visits", "Visits"), ("visits", "Calls"))},
            "column= names 'Calls' and column= names 'Visits' for visits",
        ),
    ],
)
def test_two_columns_for_one_feature_are_refused_before_any_file_is_read(options, message):
    with pytest.raises(InvalidRequest) as caught:
        ScoreOptions(**options)
    assert caught.value.status_code == 422
    assert message in caught.value.message


def test_an_unknown_feature_is_refused_naming_the_segmentations_features(crm_model):
    with pytest.raises(InvalidRequest) as caught:
        run(crm_model, "Income,Visits,Tenure\n1,2,3\n", feature_columns=(("tenure", "Tenure"), ("Visits", "Visits")))
    assert caught.value.message == (
        "column= names 'tenure', 'Visits': not a feature of this segmentation, whose features are "
        "'income', 'visits', 'tenure_months'"
    )


def test_a_mapped_column_the_header_lacks_is_refused_naming_the_header(crm_model):
    with pytest.raises(InvalidRequest) as caught:
        run(crm_model, "Income,Visits per month,Tenure\n1,2,3\n", feature_columns=(("visits", "Visits per week"),))
    assert caught.value.message == (
        "the column mapping names 'Visits per week' for visits, which the file does not have; "
        "found: 'Income', 'Visits per month', 'Tenure'"
    )


@pytest.mark.parametrize(
    ("header", "mapping", "message"),
    [
        ("Income,Calls,Tenure", (("visits", "Calls"), ("tenure_months", "Calls")), "visits and tenure_months would"),
        # Named for one feature, and found by its name for another: still one column read twice.
        ("Income,Visits,Tenure", (("tenure_months", "Visits"),), "visits and tenure_months would"),
    ],
)
def test_one_column_for_two_features_is_refused(crm_model, header, mapping, message):
    with pytest.raises(InvalidRequest) as caught:
        run(crm_model, f"{header}\n50000,2,3\n", feature_columns=mapping)
    assert caught.value.message.startswith(message)
    assert "each feature needs its own column" in caught.value.message


def test_missing_features_of_a_segmentation_point_at_column(crm_model, model):
    with pytest.raises(InvalidRequest) as caught:
        run(crm_model, "Income,Visits per month,Tenure\n1,2,3\n")
    assert "missing column(s) 'Visits' (or 'visits'), or name the column of each with column=<feature>:<column>;" in (
        caught.value.message
    )
    # The default segmentation's answer is as it always was.
    with pytest.raises(InvalidRequest) as caught:
        run(model, "revenue,score\n1,2\n")
    assert ", or name them with income_column= and spending_column=; found:" in caught.value.message


def test_income_column_for_a_segmentation_without_that_feature_is_only_checked_against_the_header(crm_model):
    text = "Income,Visits,Tenure,revenue\n50000,2,3,7\n"
    _, summary, _ = run(crm_model, text, income_column="revenue")
    assert summary["scored"] == 1 and "annual_income" not in summary["columns"]
    with pytest.raises(InvalidRequest, match="names 'sales' for annual_income, which the file does not have"):
        run(crm_model, text, income_column="sales")
