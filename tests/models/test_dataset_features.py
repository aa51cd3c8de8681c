"""Cleaning by Feature objects: each read from its own column, checked against its own range, never guessed."""

import math

import pandas as pd
import pytest

from app.core.errors import InvalidDataset
from app.models.dataset import clean_customers
from app.models.features import FEATURES, Feature, find_column

INCOME = Feature.from_dict(
    {"name": "income", "column": "Income", "label": "Income", "unit": "k$", "min": 10, "max": 140}
)
VISITS = Feature.from_dict({"name": "visits", "column": "Visits per month", "label": "Visits", "unit": "per month"})


def frame(columns: dict[str, list[str]]) -> pd.DataFrame:
    return pd.DataFrame(columns, dtype=str)


def test_features_are_read_from_their_columns_and_named_by_their_names():
    data = frame({"customer_id": ["a", "b", "c"], "Income": ["20", "30.5", "40"], "Visits per month": ["1", "2", "3"]})
    cleaned = clean_customers(data, features=[INCOME, VISITS], min_rows=3)
    assert list(cleaned.frame.columns) == ["customer_id", "income", "visits"]
    assert cleaned.frame["income"].tolist() == [20.0, 30.5, 40.0]
    assert cleaned.frame["customer_id"].tolist() == ["a", "b", "c"]


def test_columns_match_regardless_of_case_spaces_and_underscores():
    data = frame({" INCOME ": ["20", "30"], "visits_per_month": ["1", "2"]})
    cleaned = clean_customers(data, features=[INCOME, VISITS], min_rows=2)
    assert cleaned.frame["visits"].tolist() == [1.0, 2.0]


def test_a_feature_falls_back_to_its_name_but_never_to_another_column():
    data = frame({"income": ["20", "30"], "Monthly Visits": ["1", "2"]})
    assert find_column(list(data.columns), INCOME) == "income"
    with pytest.raises(InvalidDataset, match=r"missing required column\(s\): 'Visits per month' \(or 'visits'\)"):
        clean_customers(data, features=[INCOME, VISITS], min_rows=1)


def test_an_exact_column_wins_over_loose_ones_and_two_loose_ones_are_refused():
    assert find_column(["income ", "Income"], INCOME) == "Income"
    with pytest.raises(InvalidDataset, match="could each be 'Income'"):
        find_column(["INCOME", "in come", "income "], INCOME.with_bounds(None, None))


def test_each_feature_has_its_own_range_and_an_unbounded_one_drops_only_non_numbers():
    data = frame({"Income": ["5", "20", "150", "30", "40"], "Visits per month": ["-1e6", "2", "3", "inf", "x"]})
    cleaned = clean_customers(data, features=[INCOME, VISITS], min_rows=1)
    assert math.isinf(VISITS.maximum) and math.isinf(VISITS.minimum)
    assert cleaned.frame["income"].tolist() == [20.0]
    assert cleaned.dropped == {
        "income out of range (between 10 and 140)": 2,
        "NaN or infinite visits": 1,
        "non-numeric visits": 1,
    }


def test_the_built_in_features_given_as_objects_clean_as_their_names_do():
    data = frame(
        {
            "customer_id": ["1", "2", "3", "3"],
            "gender": ["Male", "Female", "Male", "Male"],
            "annual_income": ["15", "-1", "40", "50"],
            "spending_score": ["39", "81", "101", "5"],
        }
    )
    by_name = clean_customers(data, features=["annual_income", "spending_score"], min_rows=1)
    by_object = clean_customers(data, features=[FEATURES["annual_income"], FEATURES["spending_score"]], min_rows=1)
    pd.testing.assert_frame_equal(by_name.frame, by_object.frame)
    assert by_name.dropped == by_object.dropped


def test_a_file_every_row_of_which_is_1000_times_off_says_which_unit():
    data = frame({"Income": [str(20_000 + 1_000 * i) for i in range(30)], "Visits per month": ["2"] * 30})
    with pytest.raises(InvalidDataset) as error:
        clean_customers(data, features=[INCOME, VISITS], min_rows=5)
    message = str(error.value)
    assert message.startswith("only 0 usable row(s) of 30")
    assert "income looks like dollars, this segmentation expects k$" in message


def test_rows_merely_out_of_range_get_no_unit_hint():
    data = frame({"Income": ["150", "160", "170"], "Visits per month": ["2"] * 3})
    with pytest.raises(InvalidDataset) as error:
        clean_customers(data, features=[INCOME, VISITS], min_rows=1)
    assert "looks like" not in str(error.value) and "3 income out of range" in str(error.value)


def test_a_value_beyond_the_magnitude_bound_is_dropped_as_too_large():
    data = frame({"Income": ["20", "30", "40", "50"], "Visits per month": ["1e39", "-2e15", "1e15", "3"]})
    cleaned = clean_customers(data, features=[INCOME, VISITS], min_rows=1)
    assert cleaned.frame["visits"].tolist() == [1e15, 3.0]
    assert cleaned.dropped == {"visits too large (beyond ±1e15)": 2}
