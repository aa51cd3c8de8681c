"""The home page of a 3-feature model in Chromium: accessible, live with JavaScript, and whole without it."""

import re

import httpx
import pytest
from playwright.sync_api import expect

from app.models.versions.store import load_model
from app.services.prediction import predict_customer
from tests.web.axe import axe_violations, describe
from tests.web.conftest import PageWatch
from tests.web.screens import WIDTHS, screenshot

pytestmark = pytest.mark.slow
# The page's script asks predict with explain=true: match the route with or without a query string.
SEGMENTATION_PREDICT = re.compile(r"/api/v1/segmentations/default/predict(\?.*)?$")

PAIR = "?map_x=visits&map_y=income&income=50000&visits=3&tenure=2"
TRANSLATE = re.compile(r"translate\(([-\d.]+)[ ,]([-\d.]+)\)")


def _marker(transform: str) -> tuple[float, float]:
    x, y = TRANSLATE.search(transform).groups()
    return float(x), float(y)


def _server_marker(url: str, query: dict[str, str]) -> tuple[float, float]:
    """Where the server (no JavaScript) draws the customer marker for these values."""
    page = httpx.get(url + "/", params=query, headers={"accept": "text/html"}).text
    tag = re.search(r'<g id="customer-marker"[^>]*>', page).group(0)
    return _marker(tag)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("query", ["", PAIR], ids=["plane", "pair"])
def test_the_page_of_a_three_feature_model_passes_axe(browser, three_feature_url, width, query):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    watch = PageWatch(page, three_feature_url)
    page.goto(three_feature_url + "/" + query)
    expect(page.locator("#segment-map")).to_be_visible()
    violations = axe_violations(page)
    screenshot(page, f"home-three-features-{'pair' if query else 'plane'}")
    context.close()
    assert violations == [], describe(violations)
    assert watch.errors == [] and watch.foreign_requests() == []


def test_sliders_ask_the_segmentation_api_and_move_the_marker_as_the_server_places_it(
    page, three_feature_url, three_feature_dir
):
    model = load_model(three_feature_dir)
    bodies: list[dict] = []

    def answer(route):
        # The segmentation predict route is the lead's; here it answers as the model does.
        body = route.request.post_data_json
        bodies.append(body)
        route.fulfill(json=predict_customer(model, body["features"]).body)

    page.route(SEGMENTATION_PREDICT, answer)
    page.goto(three_feature_url + "/")
    tenure = page.locator("#tenure-slider")
    tenure.focus()
    for _ in range(20):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#tenure-number")).not_to_have_value("5.0")
    page.wait_for_function("() => /tenure=/.test(location.search)")
    values = {name: page.locator(f"#{name}-number").input_value() for name in ("income", "visits", "tenure")}
    sent = bodies[-1]
    assert set(sent) == {"features"} and set(sent["features"]) == set(values)
    expected = predict_customer(model, {name: float(value) for name, value in values.items()}).body
    expect(page.locator('#result [data-field="segment_name"]')).to_have_text(expected["segment_name"])
    live = _marker(page.locator("#customer-marker").get_attribute("transform"))
    server = _server_marker(three_feature_url, values)
    assert live == pytest.approx(server, abs=0.6)
    # The address and the picker keep the customer as they now are.
    assert f"tenure={values['tenure']}" in page.url
    assert page.locator('.map-picker input[name="tenure"]').input_value() == values["tenure"]
    assert page.watch.errors == []


def test_the_pair_map_places_the_live_marker_on_its_two_features(page, three_feature_url, three_feature_dir):
    model = load_model(three_feature_dir)
    page.route(
        SEGMENTATION_PREDICT,
        lambda route: route.fulfill(json=predict_customer(model, route.request.post_data_json["features"]).body),
    )
    page.goto(three_feature_url + "/" + PAIR)
    page.fill("#visits-number", "6")
    page.locator("#visits-number").press("Enter")
    page.wait_for_function("() => /visits=6/.test(location.search) && /map_x=visits/.test(location.search)")
    live = _marker(page.locator("#customer-marker").get_attribute("transform"))
    server = _server_marker(
        three_feature_url, {"income": "50000", "visits": "6", "tenure": "2", "map_x": "visits", "map_y": "income"}
    )
    assert live == pytest.approx(server, abs=0.6)


def test_without_javascript_the_form_and_the_picker_work(browser, three_feature_url):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(three_feature_url + "/")
    page.fill("#income-number", "150000")
    page.fill("#tenure-number", "13")
    page.click("#customer-form button[type=submit]")
    expect(page.locator('#result [data-field="segment_name"]')).to_contain_text("High Income")
    assert "income=150000" in page.url and "tenure=13" in page.url
    page.select_option("#map-x", "tenure")
    page.select_option("#map-y", "income")
    page.click(".map-picker button[type=submit]")
    expect(page.locator("#segment-map .axis-label").first).to_have_text("Tenure (years)")
    # The customer came along: the same values, the same segment, and a way back to the plane.
    assert page.locator("#income-number").input_value() == "150000"
    expect(page.locator('#result [data-field="segment_name"]')).to_contain_text("High Income")
    page.click('[data-role="plane-link"]')
    expect(page.locator(".map-axes")).to_be_visible()
    context.close()


def test_a_refusal_naming_a_feature_is_shown_at_that_feature(page, three_feature_url):
    message = "visits is 70, outside its range: at most 50"
    page.route(
        SEGMENTATION_PREDICT,
        lambda route: route.fulfill(status=422, json={"type": "invalid_request", "message": message, "details": []}),
    )
    page.goto(three_feature_url + "/")
    page.fill("#visits-number", "70")
    page.locator("#visits-number").press("Enter")
    expect(page.locator('[data-error-for="visits"]')).to_have_text(message)
    expect(page.locator('[data-error-for="income"]')).to_be_hidden()
