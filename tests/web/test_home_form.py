"""The page service validates form text with the API's own rules and says what is wrong per field."""

from app.models.features import FEATURES
from app.web.pages.home import parse_customer


def test_parse_customer_accepts_numbers_in_range():
    customer, errors = parse_customer({"annual_income": " 120 ", "spending_score": "90.5"})
    assert errors == {}
    assert customer == {"annual_income": 120.0, "spending_score": 90.5}


def test_parse_customer_names_each_problem_with_the_feature_range():
    customer, errors = parse_customer({"annual_income": "", "spending_score": "abc"})
    assert customer is None
    assert errors == {"annual_income": "Enter a number.", "spending_score": "'abc' is not a number."}
    customer, errors = parse_customer({"annual_income": "20000", "spending_score": "0"})
    assert customer is None
    assert errors["annual_income"] == f"Enter a value {FEATURES['annual_income'].range_text()}."
    assert errors["spending_score"] == f"Enter a value {FEATURES['spending_score'].range_text()}."


def test_parse_customer_refuses_infinity_and_nan():
    for text in ("inf", "nan", "-Infinity"):
        customer, errors = parse_customer({"annual_income": text, "spending_score": "50"})
        assert customer is None and "annual_income" in errors
