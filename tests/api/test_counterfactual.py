"""POST /api/v1/predict/counterfactual and its per-segmentation twin: the smallest move into a chosen segment."""

import csv
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

URL = "/api/v1/predict/counterfactual"
CUSTOMER = {"annual_income": 60, "spending_score": 5}


@pytest.fixture
def api(client_for, segmentations_root: Path, tmp_path: Path) -> TestClient:
    return client_for(model_dir=segmentations_root, jobs_dir=tmp_path / "jobs")


def _segments(api: TestClient, prefix: str = "") -> list[dict]:
    response = api.get(f"/api/v1{prefix}/clusters")
    assert response.status_code == 200
    body = response.json()
    return body["segments"]


def test_a_saver_is_moved_into_vip_and_the_point_predicts_there(client: TestClient) -> None:
    response = client.post(URL, json={"customer": CUSTOMER, "target_segment": "VIP / Whale"})
    assert response.status_code == 200
    body = response.json()
    assert body["reachable"] and body["reason"] is None
    assert body["target_segment"]["segment_name"] == "VIP / Whale"
    assert body["current_segment"]["segment_name"] != "VIP / Whale"
    assert body["customer"] == {"annual_income": 60.0, "spending_score": 5.0}
    for name, value in CUSTOMER.items():
        assert body["changes"][name] == pytest.approx(body["target_point"][name] - value)
    assert body["changes"]["spending_score"] > 0 and body["distance"] > 0
    predicted = client.post("/api/v1/predict", json=body["target_point"])
    assert predicted.status_code == 200
    assert predicted.json()["segment_id"] == body["target_segment"]["segment_id"]


def test_the_target_point_is_the_customer_plus_the_change_without_float_noise(client: TestClient) -> None:
    customer = {"annual_income": 77.7, "spending_score": 33.3}
    for segment in client.get("/api/v1/clusters").json()["segments"]:
        response = client.post(URL, json={"customer": customer, "target_segment": segment["segment_id"]})
        assert response.status_code == 200
        body = response.json()
        if not body["reachable"]:
            continue
        for name, value in customer.items():
            # It was 57.800000000000004 for 77.7 - 19.9: the float sum's last bits.
            assert body["target_point"][name] == round(value + body["changes"][name], 6)


def test_the_changes_as_shown_to_one_decimal_reach_the_target(client: TestClient) -> None:
    # The audit's case: +28.84 / +44.52 on the boundary, shown as +28.8 / +44.5, predicted Average Customer.
    response = client.post(URL, json={"customer": CUSTOMER, "target_segment": "VIP / Whale"})
    assert response.status_code == 200
    body = response.json()
    shown = {name: round(change, 1) for name, change in body["changes"].items()}
    assert shown == body["changes"]
    moved = {name: value + shown[name] for name, value in CUSTOMER.items()}
    predicted = client.post("/api/v1/predict", json=moved)
    assert predicted.status_code == 200
    assert predicted.json()["segment_name"] == "VIP / Whale"


def test_the_target_is_named_by_id_by_name_in_any_case_or_by_digits(client: TestClient) -> None:
    answers = [
        client.post(URL, json={"customer": CUSTOMER, "target_segment": target}).json()
        for target in ("VIP / Whale", "vip / whale")
    ]
    segment_id = answers[0]["target_segment"]["segment_id"]
    for target in (segment_id, str(segment_id)):
        answers.append(client.post(URL, json={"customer": CUSTOMER, "target_segment": target}).json())
    assert all(answer == answers[0] for answer in answers)


def test_the_current_segment_is_a_zero_change(client: TestClient) -> None:
    current = client.post("/api/v1/predict", json=CUSTOMER).json()["segment_id"]
    response = client.post(URL, json={"customer": CUSTOMER, "target_segment": current})
    assert response.status_code == 200
    body = response.json()
    assert body["reachable"] and body["distance"] == 0
    assert body["changes"] == {"annual_income": 0, "spending_score": 0}


@pytest.mark.parametrize("target", [99, "No Such Segment", -1])
def test_an_unknown_target_segment_is_a_404(client: TestClient, target) -> None:
    response = client.post(URL, json={"customer": CUSTOMER, "target_segment": target})
    assert response.status_code == 404
    assert response.json()["type"] == "unknown_segment"


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"immutable": ["age"]}, "age"),
        ({"weights": {"height": 1}}, "height"),
        ({"weights": {"annual_income": 0}}, "annual_income"),
        ({"weights": {"annual_income": -2}}, "annual_income"),
        ({"weights": {"annual_income": "heavy"}}, "annual_income"),
        ({"weights": {"annual_income": "2"}}, "annual_income"),
        ({"weights": {"annual_income": True}}, "annual_income"),
        ({"weights": {"annual_income": 1e-200}}, "annual_income"),
        ({"weights": {"annual_income": 1e308}}, "annual_income"),
        ({"weights": {"spending_score": 0.0009}}, "spending_score"),
        ({"target_segment": True}, "target_segment"),
        ({"target_segment": ""}, "target_segment"),
        ({"surprise": 1}, "surprise"),
        ({"customer": {"annual_income": 60}}, "spending_score"),
        ({"customer": {"annual_income": -5, "spending_score": 5}}, "annual_income"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(client: TestClient, extra: dict, named: str) -> None:
    response = client.post(URL, json={"customer": CUSTOMER, "target_segment": 1, **extra})
    assert response.status_code == 422
    assert named in str(response.json())


def test_a_missing_target_is_a_422(client: TestClient) -> None:
    response = client.post(URL, json={"customer": CUSTOMER})
    assert response.status_code == 422
    assert "target_segment" in str(response.json())


def test_every_feature_immutable_is_a_plain_cannot_move(client: TestClient) -> None:
    segments = _segments(client)
    current = client.post("/api/v1/predict", json=CUSTOMER).json()["segment_id"]
    other = next(segment["segment_id"] for segment in segments if segment["segment_id"] != current)
    everything = ["annual_income", "spending_score"]
    response = client.post(URL, json={"customer": CUSTOMER, "target_segment": other, "immutable": everything})
    assert response.status_code == 200
    body = response.json()
    assert body["reachable"] is False and "cannot move" in body["reason"]
    assert body["target_point"] is None and body["changes"] is None and body["distance"] is None
    same = client.post(URL, json={"customer": CUSTOMER, "target_segment": current, "immutable": everything}).json()
    assert same["reachable"] and same["distance"] == 0


def test_an_immutable_feature_keeps_its_value_or_the_answer_says_why(client: TestClient) -> None:
    reached = unreachable = 0
    for segment in _segments(client):
        body = client.post(
            URL, json={"customer": CUSTOMER, "target_segment": segment["segment_id"], "immutable": ["spending_score"]}
        ).json()
        if body["reachable"]:
            reached += 1
            assert body["changes"]["spending_score"] == 0
            predicted = client.post("/api/v1/predict", json=body["target_point"]).json()
            assert predicted["segment_id"] == segment["segment_id"]
        else:
            unreachable += 1
            assert "spending" in body["reason"]
    assert reached and unreachable


def test_weights_shift_the_change_onto_the_cheaper_feature(client: TestClient) -> None:
    plain = client.post(URL, json={"customer": CUSTOMER, "target_segment": "VIP / Whale"}).json()
    costly = client.post(
        URL, json={"customer": CUSTOMER, "target_segment": "VIP / Whale", "weights": {"spending_score": 25}}
    ).json()
    assert costly["reachable"]
    # This answer is a corner of VIP's cell, where a heavier spending weight cannot move it: never a larger change.
    assert abs(costly["changes"]["spending_score"]) <= abs(plain["changes"]["spending_score"])
    heavy_income = client.post(
        URL, json={"customer": CUSTOMER, "target_segment": "VIP / Whale", "weights": {"annual_income": 25}}
    ).json()
    assert abs(heavy_income["changes"]["annual_income"]) <= abs(plain["changes"]["annual_income"])
    assert heavy_income["distance"] > plain["distance"]  # every move now costs at least as much


@pytest.mark.parametrize("name", ["default", "crm", "rfm"])
def test_every_pair_of_segments_of_every_kind_is_reached(api: TestClient, name: str) -> None:
    segments = _segments(api, f"/segmentations/{name}")
    url = f"/api/v1/segmentations/{name}/predict/counterfactual"
    for start in segments:
        features = {feature: value for feature, value in start["centroid"].items()}
        for target in segments:
            response = api.post(url, json={"customer": {"features": features}, "target_segment": target["segment_id"]})
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["target_segment"]["segment_id"] == target["segment_id"]
            if not body["reachable"]:
                assert body["reason"]
                continue
            predicted = api.post(f"/api/v1/segmentations/{name}/predict", json={"features": body["target_point"]})
            assert predicted.status_code == 200, predicted.text
            assert predicted.json()["segment_id"] == target["segment_id"]
            if target["segment_id"] == body["current_segment"]["segment_id"]:
                assert body["distance"] == 0


def test_an_rfm_customer_given_by_transactions_is_answered(api: TestClient) -> None:
    segments = _segments(api, "/segmentations/rfm")
    customer = {"transactions": [{"date": "2011-01-05", "amount": 12.5}], "reference_date": "2011-12-10"}
    url = "/api/v1/segmentations/rfm/predict/counterfactual"
    for segment in segments:
        response = api.post(url, json={"customer": customer, "target_segment": segment["segment_name"]})
        assert response.status_code == 200, response.text
        assert response.json()["customer"]["frequency"] == 1


def test_a_segmentations_bad_input_is_refused(api: TestClient) -> None:
    url = "/api/v1/segmentations/crm/predict/counterfactual"
    features = {"income": 50_000, "visits": 4, "tenure": 3}
    first = _segments(api, "/segmentations/crm")[0]["segment_id"]
    assert api.post(url, json={"customer": {"features": features}, "target_segment": 4242}).status_code == 404
    unknown = api.post(url, json={"customer": {"features": features}, "target_segment": first, "immutable": ["age"]})
    assert unknown.status_code == 422 and "age" in unknown.json()["message"]
    missing = api.post(url, json={"customer": {"features": {"income": 5}}, "target_segment": first})
    assert missing.status_code == 422 and "visits" in missing.json()["message"]
    nowhere = "/api/v1/segmentations/nowhere/predict/counterfactual"
    assert api.post(nowhere, json={"customer": {"features": features}, "target_segment": first}).status_code == 404


def test_csv_scoring_with_a_target_segment_adds_the_changes(client: TestClient) -> None:
    text = "CustomerID,Annual Income (k$),Spending Score (1-100)\n1,60,5\n2,20,80\n"
    headers = {"content-type": "text/csv"}
    response = client.post("/api/v1/predict/csv?target_segment=VIP%20%2F%20Whale", content=text, headers=headers)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    for row in rows:
        moved = {
            "annual_income": float(row["Annual Income (k$)"]) + float(row["change_annual_income"]),
            "spending_score": float(row["Spending Score (1-100)"]) + float(row["change_spending_score"]),
        }
        assert row["reachable"] == "true"
        assert client.post("/api/v1/predict", json=moved).json()["segment_name"] == "VIP / Whale"
    unknown = client.post("/api/v1/predict/csv?target_segment=Nobody", content=text, headers=headers)
    assert unknown.status_code == 404


def test_a_target_written_in_non_ascii_digits_is_an_unknown_segment(client: TestClient) -> None:
    for target in ("²", "١"):  # str.isdigit() takes both, and int() refused them with a 500
        response = client.post(URL, json={"customer": CUSTOMER, "target_segment": target})
        assert response.status_code == 404, response.text
        assert response.json()["type"] == "unknown_segment"


@pytest.mark.parametrize("weights", [{"annual_income": 0.001}, {"annual_income": 1000, "spending_score": 0.001}])
def test_the_widest_weights_allowed_still_land_in_the_target(client: TestClient, weights: dict) -> None:
    # 1e-200 once answered "reachable" with the customer's own point, still in their segment.
    answer = client.post(URL, json={"customer": CUSTOMER, "target_segment": 1, "weights": weights}).json()
    assert answer["reachable"]
    assert client.post("/api/v1/predict", json=answer["target_point"]).json()["segment_id"] == 1


@pytest.mark.parametrize("customer_id", ["C-1042", 1043, None])
def test_a_predict_bodys_customer_id_is_taken_and_moves_nothing(api: TestClient, customer_id) -> None:
    plain = api.post(URL, json={"customer": CUSTOMER, "target_segment": "VIP / Whale"}).json()
    with_id = api.post(URL, json={"customer": CUSTOMER | {"customer_id": customer_id}, "target_segment": "VIP / Whale"})
    assert with_id.status_code == 200, with_id.text
    assert with_id.json() == plain
    url = "/api/v1/segmentations/crm/predict/counterfactual"
    customer = {"features": {"income": 50_000, "visits": 4, "tenure": 3}}
    first = _segments(api, "/segmentations/crm")[0]["segment_id"]
    plain = api.post(url, json={"customer": customer, "target_segment": first}).json()
    with_id = api.post(url, json={"customer": customer | {"customer_id": customer_id}, "target_segment": first})
    assert with_id.status_code == 200, with_id.text
    assert with_id.json() == plain


def _request_examples(schema: dict, path: str) -> dict:
    return schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["examples"]


def test_the_docs_examples_of_every_segmentation_are_answered_by_its_routes(api: TestClient) -> None:
    # One fixed example (RFM features, segment 0) was a 422 on the default segmentation and a 404 on RFM's (ids 5-8).
    schema = api.get("/openapi.json").json()
    per_segmentation = _request_examples(schema, "/api/v1/segmentations/{segmentation}/predict/counterfactual")
    assert set(per_segmentation) == {"default", "crm", "rfm"}
    sent = [(f"/api/v1/segmentations/{name}/predict/counterfactual", ex) for name, ex in per_segmentation.items()]
    sent += [("/api/v1/predict/counterfactual", ex) for ex in _request_examples(schema, URL).values()]
    for url, example in sent:
        assert isinstance(example["value"]["target_segment"], int)  # an id: a renamed segment keeps it
        response = api.post(url, json=example["value"])
        assert response.status_code == 200, (url, response.text)
        body = response.json()
        assert body["target_segment"]["segment_id"] == example["value"]["target_segment"]
        assert body["current_segment"] != body["target_segment"] and body["reachable"]
        assert body["target_segment"]["segment_name"] in example["summary"]
    predict = _request_examples(schema, "/api/v1/segmentations/{segmentation}/predict")
    for name, example in predict.items():
        assert api.post(f"/api/v1/segmentations/{name}/predict", json=example["value"]).status_code == 200, name
    components = schema["components"]["schemas"]
    fallbacks = [
        (URL, "CounterfactualIn"),
        ("/api/v1/segmentations/default/predict/counterfactual", "FeaturesCounterfactualIn"),
    ]
    for url, component in fallbacks:  # the schemas' own examples, shown where no named one is
        assert api.post(url, json=components[component]["examples"][0]).status_code == 200, component
