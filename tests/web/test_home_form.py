"""The home page's form: validated with the API's own rules, and without JavaScript it keeps the last good result."""

import re

import pytest

from app.models.features import FEATURES
from app.web.pages.home import DEFAULT_CUSTOMER, parse_customer
from tests.recorded import recording_client, snapshot


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


# --- Without JavaScript, an invalid value keeps the last good result and leaves the slider where it was ---

HTML = {"accept": "text/html"}


def no_js_form(income: str, spending: str, *, was: tuple[str, str], sliders: tuple[str, str], last=None) -> dict:
    """The query the no-JavaScript form sends: both boxes, both sliders, what the boxes showed, the last good values."""
    query = {
        "annual_income": income,
        "spending_score": spending,
        "annual_income_slider": sliders[0],
        "spending_score_slider": sliders[1],
        "annual_income_was": was[0],
        "spending_score_was": was[1],
    }
    if last is not None:
        query.update({"annual_income_last": last[0], "spending_score_last": last[1]})
    return query


def slider(html: str, field: str) -> str:
    return re.search(rf'id="{field}-slider"[^>]*value="([^"]*)"', html, re.S).group(1)


def hidden(html: str, name: str) -> str | None:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)">', html)
    return match.group(1) if match else None


def test_a_valid_submission_carries_its_values_as_the_last_good_ones(client):
    page = client.get("/", params=no_js_form("120", "90", was=("60", "50"), sliders=("60", "50")), headers=HTML)
    assert page.status_code == 200
    assert 'data-field="segment_name">VIP / Whale<' in page.text
    assert (hidden(page.text, "annual_income_last"), hidden(page.text, "spending_score_last")) == ("120", "90")
    assert 'data-role="stale" hidden' in page.text and "is-stale" not in page.text


@pytest.mark.parametrize("bad", ["500", "abc", "", "-5"])
def test_an_invalid_value_keeps_the_last_result_out_of_date_and_the_slider_in_place(client, bad):
    query = no_js_form("120", bad, was=("120", "90"), sliders=("120", "90"), last=("120", "90"))
    page = client.get("/", params=query, headers=HTML)
    assert page.status_code == 422
    assert re.search(r'data-error-for="spending_score"\s*>[^<]+<', page.text)
    # The last good result stays, visibly out of date, as the README promises (and as the page does with JS).
    assert 'data-field="segment_name">VIP / Whale<' in page.text
    assert 'class="card result-card is-stale"' in page.text
    assert '<p class="stale-notice" data-role="stale"><strong>Out of date.</strong>' in page.text
    # The slider stays at the last good value: not at its maximum (500) or minimum ("abc").
    assert slider(page.text, "spending_score") == "90"
    assert slider(page.text, "annual_income") == "120"
    assert (hidden(page.text, "annual_income_last"), hidden(page.text, "spending_score_last")) == ("120", "90")


def test_a_second_invalid_submission_still_keeps_the_last_good_result(client):
    query = no_js_form("120", "abc", was=("120", "500"), sliders=("120", "90"), last=("120", "90"))
    page = client.get("/", params=query, headers=HTML)
    assert page.status_code == 422
    assert 'data-field="segment_name">VIP / Whale<' in page.text and "is-stale" in page.text
    assert slider(page.text, "spending_score") == "90"


def test_sending_an_invalid_form_again_unchanged_stays_invalid(client):
    # The slider is where the page put it (the last good value): it did not move, so the invalid box still counts.
    query = no_js_form("120", "abc", was=("120", "abc"), sliders=("120", "90"), last=("120", "90"))
    page = client.get("/", params=query, headers=HTML)
    assert page.status_code == 422
    assert re.search(r'name="spending_score" [^>]*value="abc"', page.text, re.S)


def test_moving_the_slider_after_an_invalid_value_segments_the_slider(client):
    query = no_js_form("120", "abc", was=("120", "abc"), sliders=("120", "10"), last=("120", "90"))
    page = client.get("/", params=query, headers=HTML)
    assert page.status_code == 200
    assert 'data-field="segment_name">High Earner Saver<' in page.text and "is-stale" not in page.text


def test_an_invalid_link_without_a_last_result_shows_none_and_the_default_slider(client):
    page = client.get("/", params={"annual_income": "60", "spending_score": "500"}, headers=HTML)
    assert page.status_code == 422
    assert 'data-field="segment_name">No result yet<' in page.text
    assert slider(page.text, "spending_score") == DEFAULT_CUSTOMER["spending_score"]


def test_a_kept_result_is_not_recorded_again(client_for, tmp_path):
    client = recording_client(client_for, tmp_path)
    before = snapshot(client)
    query = no_js_form("120", "500", was=("120", "90"), sliders=("120", "90"), last=("120", "90"))
    assert client.get("/", params=query, headers=HTML).status_code == 422
    assert snapshot(client) == before
