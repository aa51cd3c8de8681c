"""The home page's "What would make this customer …" card, server-rendered: picker, changes and the map path."""

import re

import pytest
from fastapi.testclient import TestClient

from app.models.model import SegmentationModel
from app.web.pages.home_counterfactual import change_texts

HTML = {"accept": "text/html"}


def _vip(model: SegmentationModel) -> int:
    return next(segment.segment_id for segment in model.segments if segment.name == "VIP / Whale")


def test_the_picker_offers_every_segment_and_keeps_the_customer(client: TestClient, model) -> None:
    response = client.get("/", params={"annual_income": "60", "spending_score": "5"}, headers=HTML)
    assert response.status_code == 200
    form = re.search(r'<form class="counterfactual-form".*?</form>', response.text, re.S).group(0)
    assert "What would make this customer" in form
    for segment in model.segments:
        assert f'<option value="{segment.segment_id}"' in form and segment.name in form
    assert '<input type="hidden" name="annual_income" value="60">' in form
    assert '<input type="hidden" name="spending_score" value="5">' in form
    assert 'id="counterfactual-path"' not in response.text


def test_a_picked_segment_shows_signed_changes_and_the_path(client: TestClient, model) -> None:
    vip = _vip(model)
    response = client.get("/", params={"annual_income": "60", "spending_score": "5", "move_to": str(vip)}, headers=HTML)
    assert response.status_code == 200
    body = client.post(
        "/api/v1/predict/counterfactual",
        json={"customer": {"annual_income": 60, "spending_score": 5}, "target_segment": vip},
    ).json()
    for line in change_texts(model, body["changes"]):
        assert f"<li>{line}</li>" in response.text
    spending = f"{body['changes']['spending_score']:+,.15g}"
    assert f"{spending} spending score" in response.text
    path = re.search(r'<g id="counterfactual-path".*?<line x1="([\d.]+)" y1="([\d.]+)"', response.text, re.S)
    marker = re.search(r'<g id="customer-marker"[^>]*translate\(([\d.]+) ([\d.]+)\)', response.text)
    assert path and marker
    assert float(path.group(1)) == pytest.approx(float(marker.group(1)))
    assert float(path.group(2)) == pytest.approx(float(marker.group(2)))


def test_the_changes_as_shown_move_the_customer_into_the_target(client: TestClient, model) -> None:
    # Shown to one decimal, an answer on the boundary (+28.84 as "+28.8") fell back into the segment it left.
    for segment in model.segments:
        params = {"annual_income": "60", "spending_score": "5", "move_to": str(segment.segment_id)}
        response = client.get("/", params=params, headers=HTML)
        assert response.status_code == 200
        customer = {"annual_income": 60.0, "spending_score": 5.0}
        for sign, number, feature in re.findall(r"<li>([+-])([\d,.]+) (annual income|spending score)", response.text):
            customer[feature.replace(" ", "_")] += float(sign + number.replace(",", ""))
        predicted = client.post("/api/v1/predict", json=customer)
        assert predicted.status_code == 200
        assert predicted.json()["segment_id"] == segment.segment_id


def test_the_own_segment_needs_no_change_and_draws_no_path(client: TestClient) -> None:
    current = client.post("/api/v1/predict", json={"annual_income": 60, "spending_score": 5}).json()["segment_id"]
    response = client.get(
        "/", params={"annual_income": "60", "spending_score": "5", "move_to": str(current)}, headers=HTML
    )
    assert response.status_code == 200
    assert "no change needed" in response.text and 'id="counterfactual-path"' not in response.text


def test_an_unknown_segment_is_said_as_text_not_markup(client: TestClient) -> None:
    response = client.get(
        "/", params={"annual_income": "60", "spending_score": "5", "move_to": "<b>x</b>"}, headers=HTML
    )
    assert response.status_code == 200
    assert "no segment &#39;&lt;b&gt;x&lt;/b&gt;&#39;" in response.text and "<b>x</b>" not in response.text


def test_change_lines_name_features_in_words() -> None:
    from app.models.features import FEATURES
    from tests.models.test_counterfactual import _two_segment_model

    model = _two_segment_model()
    assert [spec.name for spec in model.feature_specs] == ["annual_income", "spending_score"]
    lines = change_texts(model, {"annual_income": -3.0, "spending_score": 1204.25})
    assert lines == ["-3 annual income (k$)", "+1,204.25 spending score"]
    assert change_texts(model, {"annual_income": 0.0, "spending_score": 0.0}) == []
    assert FEATURES["annual_income"].short_unit == "k$"


@pytest.mark.parametrize("name", ["crm", "rfm"])
def test_other_segmentations_get_the_card_and_a_path_on_their_map(segmented: TestClient, name: str) -> None:
    info = segmented.get(f"/api/v1/segmentations/{name}").json()
    segments = segmented.get(f"/api/v1/segmentations/{name}/clusters").json()["segments"]
    start, target = segments[0], segments[-1]
    query = {feature: f"{value:.6g}" for feature, value in start["centroid"].items()}
    response = segmented.get(
        "/", params={**query, "segmentation": name, "move_to": str(target["segment_id"])}, headers=HTML
    )
    assert response.status_code == 200, info
    assert "What would make this customer" in response.text
    answer = segmented.post(
        f"/api/v1/segmentations/{name}/predict/counterfactual",
        json={
            "customer": {"features": {k: float(v) for k, v in query.items()}},
            "target_segment": target["segment_id"],
        },
    ).json()
    if answer["reachable"]:
        assert 'id="counterfactual-path"' in response.text
        assert '<input type="hidden" name="segmentation" value="' + name + '">' in response.text
    else:
        assert "out of reach" in response.text
