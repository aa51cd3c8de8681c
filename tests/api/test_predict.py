"""POST /api/v1/predict and /predict/batch: named segments, confidence, runner-up, batch equals single."""

import pytest

from tests.conftest import KNOWN_POINTS
from tests.recorded import logged, recording_client, snapshot


@pytest.mark.parametrize(("point", "name"), list(KNOWN_POINTS.items()))
def test_predict_known_points(client, point, name):
    response = client.post("/api/v1/predict", json={"annual_income": point[0], "spending_score": point[1]})
    assert response.status_code == 200
    body = response.json()
    assert body["segment_name"] == name
    assert body["description"]
    assert len(body["marketing_strategy"]) >= 3
    assert set(body["distances"]) == {"0", "1", "2", "3", "4"}
    assert body["distance"] == min(body["distances"].values())
    assert body["distances"][str(body["segment_id"])] == body["distance"]
    assert 0 <= body["confidence"] <= 1
    runner_up = body["runner_up"]
    assert runner_up["segment_id"] != body["segment_id"]
    assert runner_up["distance"] == sorted(body["distances"].values())[1]
    assert body["confidence"] == pytest.approx(1 - body["distance"] / runner_up["distance"])
    assert body["model_version"]


def test_predict_ids_are_stable(client):
    ids = {
        client.post("/api/v1/predict", json={"annual_income": i, "spending_score": s}).json()[
            "segment_name"
        ]: client.post("/api/v1/predict", json={"annual_income": i, "spending_score": s}).json()["segment_id"]
        for i, s in KNOWN_POINTS
    }
    assert ids == {
        "Average Customer": 0,
        "VIP / Whale": 1,
        "Young Trendsetter": 2,
        "High Earner Saver": 3,
        "Budget Conscious": 4,
    }


def test_predict_flags_atypical_customers(client, model):
    vip = model.segment(1)
    at_centroid = client.post(
        "/api/v1/predict",
        json={"annual_income": vip.centroid["annual_income"], "spending_score": vip.centroid["spending_score"]},
    ).json()
    assert at_centroid["is_atypical"] is False
    assert at_centroid["confidence"] > 0.9
    # Further out in the segment's own direction (richer, bigger-spending) is a clearer VIP, not a doubtful one.
    outward = client.post("/api/v1/predict", json={"annual_income": 130, "spending_score": 99}).json()
    assert outward["segment_name"] == "VIP / Whale"
    assert outward["is_atypical"] is False
    # Drifting towards the middle on spending, away from what VIPs stand for, is.
    sideways = client.post("/api/v1/predict", json={"annual_income": 87, "spending_score": 60}).json()
    assert sideways["segment_name"] == "VIP / Whale"
    assert sideways["is_atypical"] is True


def test_out_of_range_names_the_feature_and_the_training_range(client, model):
    low, high = model.training_range
    span = high[0] - low[0]
    cases = {
        (high[0] - 1, 50): [],  # inside
        (high[0] + 0.05 * span, 50): [],  # just outside the data, within the margin
        (high[0] + 0.2 * span, 50): ["annual_income"],  # beyond the margin
        (5_000, 99): ["annual_income"],  # far outside
    }
    for (income, spending), expected in cases.items():
        body = client.post("/api/v1/predict", json={"annual_income": income, "spending_score": spending}).json()
        assert [item["feature"] for item in body["out_of_range"]] == expected, (income, body["out_of_range"])
        for item in body["out_of_range"]:
            assert (item["training_min"], item["training_max"]) == (low[0], high[0])
            assert item["value"] == income
    batch = client.post(
        "/api/v1/predict/batch",
        json={"customers": [{"annual_income": i, "spending_score": s} for i, s in cases]},
    ).json()
    assert [[item["feature"] for item in p["out_of_range"]] for p in batch["predictions"]] == list(cases.values())


def test_confidence_is_low_on_a_boundary(client, model):
    average, vip = model.segment(0).centroid, model.segment(1).centroid
    midpoint = {feature: (average[feature] + vip[feature]) / 2 for feature in average}
    body = client.post("/api/v1/predict", json=midpoint).json()
    assert body["segment_name"] in {"Average Customer", "VIP / Whale"}
    assert body["confidence"] < 0.15


def test_batch_equals_single_in_input_order(client):
    customers = [
        {"annual_income": i, "spending_score": s} for i in (0, 15, 40, 70, 100, 137, 500) for s in (1, 35, 65, 100)
    ]
    response = client.post("/api/v1/predict/batch", json={"customers": customers})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(customers)
    singles = [client.post("/api/v1/predict", json=customer).json() for customer in customers]
    assert body["predictions"] == singles
    counts = {entry["segment_name"]: entry["count"] for entry in body["segment_counts"]}
    assert sum(counts.values()) == len(customers)
    for name, count in counts.items():
        assert count == sum(1 for single in singles if single["segment_name"] == name)


def test_batch_accepts_the_maximum_size(client_for):
    client = client_for(max_batch_size=50)
    response = client.post(
        "/api/v1/predict/batch", json={"customers": [{"annual_income": 50, "spending_score": 50}] * 50}
    )
    assert response.status_code == 200
    assert response.json()["count"] == 50


def test_predict_clear_vip_is_not_atypical(client):
    body = client.post("/api/v1/predict", json={"annual_income": 120, "spending_score": 90}).json()
    assert body["segment_name"] == "VIP / Whale"
    assert body["is_atypical"] is False


def test_batch_echoes_customer_ids(client):
    customers = [
        {"customer_id": "CRM-0001", "annual_income": 120, "spending_score": 90},
        {"annual_income": 20, "spending_score": 10},
        {"customer_id": 42, "annual_income": 20, "spending_score": 90},
        {"customer_id": "x" * 64, "annual_income": 55, "spending_score": 50},
        {"customer_id": 7.0, "annual_income": 55, "spending_score": 50},  # JSON Schema calls 7.0 an integer
    ]
    response = client.post("/api/v1/predict/batch", json={"customers": customers})
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    assert predictions[0]["customer_id"] == "CRM-0001"
    assert "customer_id" not in predictions[1]
    assert predictions[2]["customer_id"] == 42 and isinstance(predictions[2]["customer_id"], int)
    assert predictions[3]["customer_id"] == "x" * 64
    assert predictions[4]["customer_id"] == 7 and isinstance(predictions[4]["customer_id"], int)
    assert [p["segment_name"] for p in predictions[:3]] == ["VIP / Whale", "Budget Conscious", "Young Trendsetter"]


@pytest.mark.parametrize(
    "customer",
    [
        {"customer_id": "x" * 65, "annual_income": 50, "spending_score": 50},
        {"customer_id": True, "annual_income": 50, "spending_score": 50},
        {"customer_id": 1.5, "annual_income": 50, "spending_score": 50},
        {"customer_id": "", "annual_income": 50, "spending_score": 50},
        {"customer_id": "  \t", "annual_income": 50, "spending_score": 50},
        {"customer_id": 2**53, "annual_income": 50, "spending_score": 50},
        {"customer_id": 1, "name": "Ann", "annual_income": 50, "spending_score": 50},
    ],
)
def test_batch_refuses_bad_customer_ids_and_other_extra_fields(client, customer):
    response = client.post("/api/v1/predict/batch", json={"customers": [customer]})
    assert response.status_code == 422
    assert response.json()["type"] == "validation_error"
    assert "customer_id" in response.json()["message"] or "name" in response.json()["message"]
    single = client.post("/api/v1/predict", json=customer)  # one customer takes the same id rules
    assert single.status_code == 422 and single.json()["type"] == "validation_error"


def test_one_customer_echoes_its_id_and_answers_as_before_without_one(client):
    with_id = client.post("/api/v1/predict", json={"customer_id": 7.0, "annual_income": 55, "spending_score": 50})
    without = client.post("/api/v1/predict", json={"annual_income": 55, "spending_score": 50})
    assert with_id.status_code == without.status_code == 200
    assert with_id.json().pop("customer_id") == 7 and "customer_id" not in without.json()
    assert {**with_id.json(), "customer_id": None} == {**without.json(), "customer_id": None}


def test_a_null_id_is_no_id_and_a_text_id_is_trimmed_as_a_files_are(client):
    plain = client.post("/api/v1/predict", json={"annual_income": 55, "spending_score": 50})
    null = client.post("/api/v1/predict", json={"customer_id": None, "annual_income": 55, "spending_score": 50})
    assert null.status_code == 200, null.text
    assert null.json() == plain.json() and "customer_id" not in null.json()
    padded = client.post("/api/v1/predict", json={"customer_id": " C-1 ", "annual_income": 55, "spending_score": 50})
    assert padded.status_code == 200 and padded.json()["customer_id"] == "C-1"
    customers = [
        {"customer_id": None, "annual_income": 55, "spending_score": 50},
        {"customer_id": "\tC-2", "annual_income": 55, "spending_score": 50},
    ]
    batch = client.post("/api/v1/predict/batch", json={"customers": customers})
    assert batch.status_code == 200
    assert ["customer_id" in p for p in batch.json()["predictions"]] == [False, True]
    assert batch.json()["predictions"][1]["customer_id"] == "C-2"


def test_a_blank_text_id_is_refused_saying_why(client):
    response = client.post("/api/v1/predict", json={"customer_id": " ", "annual_income": 55, "spending_score": 50})
    assert response.status_code == 422
    assert "customer_id.text: Value error, a text id cannot be empty or only spaces" in response.json()["message"]


def test_a_text_id_holding_a_nul_is_refused_saying_why(client):
    customer = {"customer_id": "C-\x001", "annual_income": 55, "spending_score": 50}
    single = client.post("/api/v1/predict", json=customer)
    batch = client.post("/api/v1/predict/batch", json={"customers": [customer]})
    by_segmentation = client.post("/api/v1/segmentations/default/predict", json=customer)
    for response in (single, batch, by_segmentation):
        assert response.status_code == 422
        assert "must not hold the NUL character (U+0000)" in response.json()["message"]


def test_each_answer_is_counted_and_logged_once(client_for, tmp_path):
    client = recording_client(client_for, tmp_path)
    before = snapshot(client)
    assert client.post("/api/v1/predict", json={"annual_income": 120, "spending_score": 90}).status_code == 200
    batch = {"customers": [{"annual_income": 20, "spending_score": 10}] * 3}
    assert client.post("/api/v1/predict/batch", json=batch).status_code == 200
    refused = client.post("/api/v1/predict", json={"annual_income": 120, "spending_score": 900})
    assert refused.status_code == 422
    after = snapshot(client)
    assert {key: after[key] - before[key] for key in after if after[key] != before[key]} == {
        "predictions single": 1,
        "predictions batch": 3,
        "sizes batch": 1,
        "logged": 4,
    }
    assert (logged(client, "single"), logged(client, "batch")) == (1, 3)
