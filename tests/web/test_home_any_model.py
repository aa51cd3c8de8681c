"""The home page for a model of any features: its form, no-JS answers, the plane map and the pair picker."""

import html
import re

import pytest

from app.models.versions.store import load_model
from app.services.prediction import predict_customer
from app.web.charts import segment_map
from app.web.pages.home import home_page
from app.web.pages.home_form import fields_for, parse_customer, slider_value
from tests.recorded import recording_client, snapshot

HTML = {"accept": "text/html"}


@pytest.fixture(scope="module")
def three(three_feature_dir):
    return load_model(three_feature_dir)


@pytest.fixture
def client(client_for, three_feature_dir):
    return client_for(model_dir=three_feature_dir)


def _input(page: str, field_id: str) -> str:
    return re.search(rf'<input id="{field_id}"[^>]*>', page, re.S).group(0)


def _attr(tag: str, name: str) -> str | None:
    match = re.search(rf'\s{name}="([^"]*)"', tag)
    return html.unescape(match.group(1)) if match else None


def _segment_name(page: str) -> str:
    return html.unescape(re.search(r'data-field="segment_name">([^<]*)<', page).group(1))


def test_the_form_has_one_field_per_feature_with_its_label_unit_and_range(client, three):
    page = client.get("/", headers=HTML)
    assert page.status_code == 200
    text = page.text
    for field in fields_for(three):
        spec = field.feature
        assert f'<label for="{spec.name}-number">{spec.label} <span class="muted">({spec.unit})</span></label>' in text
        box, slider = _input(text, f"{spec.name}-number"), _input(text, f"{spec.name}-slider")
        assert _attr(box, "name") == spec.name and _attr(slider, "name") == f"{spec.name}_slider"
        assert _attr(box, "data-range-text") == spec.range_text()
        stats = three.info["data_stats"][spec.name]
        # The slider covers the training range; the box takes what the feature accepts.
        assert float(_attr(slider, "min")) <= stats["min"] and float(_attr(slider, "max")) >= stats["max"]
    tenure = _input(text, "tenure-number")
    assert (_attr(tenure, "min"), _attr(tenure, "max")) == ("0", "60")
    visits = _input(text, "visits-number")
    assert _attr(visits, "min") is None and _attr(visits, "max") is None  # unbounded: no attribute, no fake bound
    assert "annual_income" not in text
    assert "Set the customer's Income, Visits and Tenure" in text


def test_the_page_previews_the_typical_customer_without_recording(client, three):
    page = client.get("/", headers=HTML)
    defaults = {field.name: float(field.default) for field in fields_for(three)}
    assert _segment_name(page.text) == predict_customer(three, defaults).body["segment_name"]


def test_a_no_js_form_answers_with_the_models_own_prediction(client, three):
    customer = {"income": "150000", "visits": "3", "tenure": "13"}
    query = {**customer, **{f"{name}_was": value for name, value in customer.items()}}
    page = client.get("/", params=query, headers=HTML)
    assert page.status_code == 200
    expected = predict_customer(three, {name: float(value) for name, value in customer.items()}).body
    assert _segment_name(page.text) == expected["segment_name"]
    for name, value in customer.items():
        assert re.search(rf'<input type="hidden" name="{name}_last" value="{value}">', page.text)


def test_a_sent_form_of_any_model_is_recorded_once(client_for, three_feature_dir, tmp_path):
    client = recording_client(client_for, tmp_path, model_dir=three_feature_dir)
    before = snapshot(client)
    customer = {"income": "40000", "visits": "2", "tenure": "1"}
    query = {**customer, **{f"{name}_was": "1" for name in customer}}
    assert client.get("/", params=query, headers=HTML).status_code == 200
    after = snapshot(client)
    assert after["predictions single"] == before["predictions single"] + 1
    # A link with the same values (no `_was`) shows the segment and records nothing.
    assert client.get("/", params=customer, headers=HTML).status_code == 200
    assert snapshot(client)["predictions single"] == after["predictions single"]


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("tenure", "99", "Enter a value between 0 and 60."),
        ("income", "-5", "Enter a value at least 0."),
        ("visits", "abc", "'abc' is not a number."),
        ("visits", "inf", "Enter a finite number."),
        ("income", "", "Enter a number."),
    ],
)
def test_bad_values_are_named_per_feature_and_keep_the_last_result(client, field, text, message):
    good = {"income": "40000", "visits": "2", "tenure": "1"}
    query = {**good, field: text, **{f"{name}_was": value for name, value in good.items()}}
    query.update({f"{name}_last": value for name, value in good.items()})
    page = client.get("/", params=query, headers=HTML)
    assert page.status_code == 422
    shown = re.search(rf'data-error-for="{field}"\s*>([^<]*)<', page.text).group(1)
    assert html.unescape(shown) == message
    assert "is-stale" in page.text and _segment_name(page.text) != "No result yet"


def test_parse_customer_checks_any_features_range(three):
    fields = fields_for(three)
    customer, errors = parse_customer({"income": "52000.5", "visits": "0", "tenure": "60"}, fields)
    assert errors == {} and customer == {"income": 52000.5, "visits": 0.0, "tenure": 60.0}
    customer, errors = parse_customer({"income": "1" * 60, "visits": "1", "tenure": "61"}, fields)
    assert customer is None and set(errors) == {"income", "tenure"}


def test_sliders_stand_on_their_steps(three):
    income = next(field for field in fields_for(three) if field.name == "income")
    assert income.step > 1
    value = float(slider_value(income, "61234"))
    assert (value - income.slider_min) % income.step == pytest.approx(0) and abs(value - 61234) <= income.step / 2
    assert slider_value(income, "99999999") == str(income.slider_max)


def test_the_map_is_the_plane_with_its_axes_explained(client, three):
    page = client.get("/", headers=HTML)
    assert "What the axes mean" in page.text
    assert re.search(r"<li>Axis 1 \(\d+% of the spread\): [^<]*× log Income", page.text)
    assert 'id="map-placement"' in page.text and 'class="axis-label">Axis 1<' in page.text
    # The marker of the previewed customer sits where the projection places it.
    context, _ = home_page(three, {})
    defaults = {field.name: float(field.default) for field in fields_for(three)}
    assert context["marker"] == segment_map.place_on_map(context["segment_map"], three, defaults)
    assert f'transform="translate({context["marker"]["x"]} {context["marker"]["y"]})"' in page.text


def test_the_picker_shows_a_pair_and_keeps_the_customer(client):
    customer = {"income": "50000", "visits": "3", "tenure": "2"}
    page = client.get("/", params={**customer, "map_x": "visits", "map_y": "income"}, headers=HTML)
    assert page.status_code == 200
    assert 'class="axis-label">Visits (per month)<' in page.text and 'class="axis-label">Income ($)<' in page.text
    assert "What the axes mean" not in page.text
    assert re.search(r'<option value="visits" selected>Visits</option>', page.text)
    # The customer form keeps the pair, and a link goes back to the plane with the customer's values.
    assert '<input type="hidden" name="map_x" value="visits" data-carry>' in page.text
    assert 'href="/?income=50000&amp;visits=3&amp;tenure=2">Back to the map of all 3 features' in page.text
    # The picker itself carries the customer's values as they were shown.
    picker = re.search(r'<form class="map-picker".*?</form>', page.text, re.S).group(0)
    for name, value in customer.items():
        assert f'<input type="hidden" name="{name}" value="{value}">' in picker


@pytest.mark.parametrize("pair", [("visits", "visits"), ("visits", "age"), ("x", "y")])
def test_an_unknown_pair_falls_back_to_the_plane(client, pair):
    page = client.get("/", params={"map_x": pair[0], "map_y": pair[1]}, headers=HTML)
    assert page.status_code == 200
    assert "What the axes mean" in page.text and 'name="map_x" value=' not in page.text


def test_the_default_model_has_no_picker_and_posts_flat(client_for):
    page = client_for().get("/", headers=HTML)
    assert page.status_code == 200
    assert "map-picker" not in page.text and 'id="map-placement"' not in page.text
    assert "data-predict-url" not in page.text  # app.js keeps /api/v1/predict with the flat body


def test_other_segmentations_post_their_features_and_carry_their_name(three):
    context, _ = home_page(three, {}, segmentation="loyalty")
    assert context["predict_api"] == {"url": "/api/v1/segmentations/loyalty/predict", "body": "features"}
    assert context["segmentation"] == "loyalty"
    assert context["map_picker"]["carry"]["segmentation"] == "loyalty"


def test_a_value_too_far_from_the_training_data_is_refused_on_the_form_as_by_the_api(client, three):
    plain = next(spec.name for spec in three.feature_specs if spec.transform == "none" and spec.maximum == float("inf"))
    customer = {spec.name: "5" for spec in three.feature_specs} | {plain: "1e300"}
    query = {**customer, **{f"{name}_was": value for name, value in customer.items()}}
    page = client.get("/", params=query, headers=HTML)
    assert page.status_code == 422
    assert "too far from anything this model was trained on" in html.unescape(page.text)
    assert _segment_name(page.text) == "No result yet"
