"""Diagnosis from a segmentation's own features: values 1,000 times off their unit, said in the feature's words."""

import pytest

from app.models.features import FEATURES, Feature
from app.services.scoring.diagnosis import RawSample, diagnose, raw_sample
from app.services.scoring.summary import ScoreSummary

INCOME = Feature.from_dict(
    {"name": "income", "column": "Income", "label": "Income", "unit": "k$", "min": 10, "max": 140}
)
VISITS = Feature.from_dict({"name": "visits", "column": "Visits", "label": "Visits", "unit": "", "min": 0, "max": 40})
WEIGHT = Feature.from_dict({"name": "weight", "column": "Weight", "label": "Weight", "unit": "kg", "min": 2, "max": 90})


def failed(reason: str, *, delimiter: str = ",", rows: int = 30) -> ScoreSummary:
    """The summary of a file whose every row failed for one reason."""
    return ScoreSummary(
        model_version="v1",
        segments=[],
        columns={"income": "Income", "visits": "Visits", "weight": "Weight"},
        delimiter=delimiter,
        rows=rows,
        errors={reason: rows},
    )


def test_dollars_where_a_segmentation_expects_k_dollars_are_named():
    values = [str(20_000 + 1_000 * n) for n in range(30)]
    diagnosis = diagnose(
        failed("Income out of range (10 to 140)"), RawSample(values={"income": values}), features=[INCOME, VISITS]
    )
    assert diagnosis is not None and diagnosis.cause == "unit_scale"
    assert diagnosis.message.startswith("income looks like dollars, this segmentation expects k$")
    assert "divide the values by 1,000" in diagnosis.message


def test_decimal_commas_of_a_semicolon_file_are_read_in_the_diagnosis():
    values = [f"{20_000 + 1_000 * n},5" for n in range(30)]
    diagnosis = diagnose(
        failed("Income out of range (10 to 140)", delimiter=";"),
        RawSample(values={"income": values}),
        features=[INCOME, VISITS],
    )
    assert diagnosis is not None and diagnosis.cause == "unit_scale"


def test_grams_where_kilograms_are_expected_use_the_unit_itself():
    values = [str(30_000 + 100 * n) for n in range(30)]
    diagnosis = diagnose(
        failed("Weight out of range (2 to 90)"), RawSample(values={"weight": values}), features=[WEIGHT]
    )
    assert diagnosis is not None
    assert diagnosis.message.startswith("weight looks like g, this segmentation expects kg")


@pytest.mark.parametrize("values", [["150", "160", "170"], ["-5", "-6", "-7"], ["1500", "1600"]])
def test_values_merely_out_of_range_are_not_called_a_unit(values):
    diagnosis = diagnose(
        failed("Income out of range (10 to 140)"), RawSample(values={"income": values}), features=[INCOME]
    )
    assert diagnosis is not None and diagnosis.cause == "out_of_range"
    assert "income values is outside the accepted range (between 10 and 140 k$)" in diagnosis.message


def test_a_training_range_tells_a_wide_accepted_range_apart():
    wide = INCOME.with_bounds(0, 1_000_000)
    values = [str(40_000 + 1_000 * n) for n in range(30)] + ["2000000"]
    summary = failed("Income out of range (0 to 1e+06)")
    without = diagnose(summary, RawSample(values={"income": values}), features=[wide])
    assert without is not None and without.cause == "out_of_range"
    with_range = diagnose(
        summary, RawSample(values={"income": values}), features=[wide], training_ranges={"income": (15, 137)}
    )
    assert with_range is not None and with_range.cause == "unit_scale"


def test_a_feature_the_model_does_not_have_is_not_guessed():
    diagnosis = diagnose(
        failed("Income out of range (10 to 140)"), RawSample(values={"income": ["20000"]}), features=[VISITS]
    )
    assert diagnosis is not None and diagnosis.cause == "other"


def test_missing_and_non_numbers_use_the_feature_label():
    missing = diagnose(failed("missing Visits"), RawSample(values={"visits": [""]}), features=[INCOME, VISITS])
    assert missing is not None and "'Visits' read as visits is empty" in missing.message
    words = diagnose(failed("Visits is not a number"), RawSample(values={"visits": ["often"]}), features=[VISITS])
    assert words is not None and words.cause == "not_numbers"
    assert "no value in the visits values column is a plain number (such as 'often')" in words.message


def test_the_default_features_keep_their_sentences_when_passed_explicitly():
    values = [str(20_000 + 1_000 * n) for n in range(30)]
    summary = failed("Annual Income (k$) out of range (0 to 10000)")
    summary.columns = {"annual_income": "Annual Income (k$)"}
    given = diagnose(summary, RawSample(values={"annual_income": values}), features=list(FEATURES.values()))
    default = diagnose(summary, RawSample(values={"annual_income": values}))
    assert given == default
    assert given is not None and given.cause == "dollars"


def test_raw_sample_reads_the_given_features_columns(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text('Visits;Income\r\n3;"20000,5"\r\n4;21000\r\n', encoding="utf-8-sig")
    sample = raw_sample(path, delimiter=";", columns={"income": "Income", "visits": "Visits"}, features=[INCOME])
    assert sample.values == {"income": ["20000,5", "21000"]}
