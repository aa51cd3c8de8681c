"""explain=true on predict, batch and CSV, top-level and under a segmentation; versions trained before it."""

import csv
import dataclasses
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.models.features import Feature
from app.models.model import FeatureStats, SegmentationModel
from app.models.segmentations.catalog import SegmentationCatalog
from app.models.segmentations.spec import SegmentationSpec
from app.models.segmentations.training import train_segmentation
from app.models.synthetic_crm import write_crm
from app.models.synthetic_transactions import write_transactions
from app.models.versions.artifacts import save_model
from app.models.versions.store import VersionStore, load_model, new_version_id

FIELDS = {"feature", "value", "typical_low", "typical_high", "position", "text", "share_of_distance", "share_of_margin"}
LOW_INCOME = {"annual_income": 60, "spending_score": 5}
BOUNDARY = {"annual_income": 122, "spending_score": 50}
CSV_TYPE = {"content-type": "text/csv"}
CSV_BODY = "CustomerID,Annual Income (k$),Spending Score (1-100)\n1,60,5\n2,oops,5\n3,122,50\n"


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _check_explanation(explanation: dict, features: list[str]) -> None:
    assert [item["feature"] for item in explanation["features"]] == features
    for item in explanation["features"]:
        assert set(item) == FIELDS
        assert item["position"] in ("below", "within", "above")
        assert item["typical_low"] <= item["typical_high"]
    assert sum(item["share_of_distance"] for item in explanation["features"]) == pytest.approx(1.0)
    assert sum(item["share_of_margin"] for item in explanation["features"]) == pytest.approx(1.0)
    assert explanation["confidence_text"].startswith("Confidence measures")
    assert "missing" not in explanation


def test_predict_explains_only_when_asked(client: TestClient) -> None:
    plain = client.post("/api/v1/predict", json=LOW_INCOME)
    explained = client.post("/api/v1/predict", params={"explain": "true"}, json=LOW_INCOME)
    assert plain.status_code == 200 and explained.status_code == 200
    assert "explanation" not in plain.json()
    body = explained.json()
    explanation = body.pop("explanation")
    assert body == plain.json()
    _check_explanation(explanation, ["annual_income", "spending_score"])
    income = explanation["features"][0]
    assert income["value"] == 60 and income["position"] == "below" and income["typical_low"] > 60
    assert income["text"].startswith("Income 60 k$ is below this segment's usual")
    assert client.post("/api/v1/predict", params={"explain": "false"}, json=LOW_INCOME).content == plain.content


def test_a_low_confidence_says_why(client: TestClient) -> None:
    body = client.post("/api/v1/predict", params={"explain": "true"}, json=BOUNDARY).json()
    assert body["confidence"] < 0.3
    text = body["explanation"]["confidence_text"]
    assert "low because" in text and body["runner_up"]["segment_name"] in text and body["segment_name"] in text


def test_explain_must_be_a_boolean(client: TestClient) -> None:
    response = client.post("/api/v1/predict", params={"explain": "maybe"}, json=LOW_INCOME)
    assert response.status_code == 422
    assert "explain" in response.text


def test_batch_explains_every_prediction_in_order(client: TestClient) -> None:
    customers = [{"customer_id": "a", **LOW_INCOME}, {"customer_id": "b", **BOUNDARY}]
    plain = client.post("/api/v1/predict/batch", json={"customers": customers}).json()
    response = client.post("/api/v1/predict/batch", params={"explain": "true"}, json={"customers": customers})
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    assert [p["customer_id"] for p in predictions] == ["a", "b"]
    for prediction, before in zip(predictions, plain["predictions"], strict=True):
        _check_explanation(prediction.pop("explanation"), ["annual_income", "spending_score"])
        assert prediction == before
    assert predictions[0]["segment_id"] == client.post("/api/v1/predict", json=LOW_INCOME).json()["segment_id"]


def test_csv_appends_explanation_columns(client: TestClient) -> None:
    plain = client.post("/api/v1/predict/csv", content=CSV_BODY, headers=CSV_TYPE)
    response = client.post("/api/v1/predict/csv", params={"explain": "true"}, content=CSV_BODY, headers=CSV_TYPE)
    assert response.status_code == 200, response.text
    header = response.text.splitlines()[0].split(",")
    plain_header = plain.text.splitlines()[0].split(",")
    per_feature = [
        f"{prefix}_{feature}"
        for feature in ("annual_income", "spending_score")
        for prefix in ("typical_low", "typical_high", "position", "share_of_distance", "share_of_margin")
    ]
    assert header == [*plain_header[:-1], *per_feature, "confidence_text", "error"]
    first, bad, boundary = _rows(response.text)
    single = client.post("/api/v1/predict", params={"explain": "true"}, json=LOW_INCOME).json()["explanation"]
    income = single["features"][0]
    assert first["position_annual_income"] == "below"
    assert float(first["typical_low_annual_income"]) == pytest.approx(income["typical_low"])
    assert float(first["share_of_distance_annual_income"]) == pytest.approx(income["share_of_distance"], abs=1e-4)
    assert first["confidence_text"] == single["confidence_text"]
    assert all(bad[name] == "" for name in [*per_feature, "confidence_text"]) and bad["error"]
    assert "low because" in boundary["confidence_text"]


def test_csv_refuses_a_file_that_already_has_an_explanation_column(client: TestClient) -> None:
    body = "Annual Income (k$),Spending Score (1-100),position_annual_income\n60,5,x\n"
    response = client.post("/api/v1/predict/csv", params={"explain": "true"}, content=body, headers=CSV_TYPE)
    assert response.status_code == 422
    assert "position_annual_income" in response.json()["message"]
    assert client.post("/api/v1/predict/csv", content=body, headers=CSV_TYPE).status_code == 200


def test_the_segmentation_routes_explain_too(client: TestClient) -> None:
    base = "/api/v1/segmentations/default/predict"
    one = client.post(base, params={"explain": "true"}, json={"features": LOW_INCOME})
    assert one.status_code == 200
    top = client.post("/api/v1/predict", params={"explain": "true"}, json=LOW_INCOME).json()
    assert one.json()["explanation"] == top["explanation"]
    assert "explanation" not in client.post(base, json={"features": LOW_INCOME}).json()
    many = client.post(base + "/batch", params={"explain": "true"}, json={"customers": [{"features": BOUNDARY}]})
    assert many.status_code == 200
    _check_explanation(many.json()["predictions"][0]["explanation"], ["annual_income", "spending_score"])
    scored = client.post(base + "/csv", params={"explain": "true"}, content=CSV_BODY, headers=CSV_TYPE)
    assert scored.status_code == 200
    assert _rows(scored.text)[0]["position_annual_income"] == "below"


LOYALTY = [
    Feature.from_dict({"name": "income", "column": "Income", "label": "Income", "unit": "$", "transform": "log1p"}),
    Feature.from_dict({"name": "visits", "column": "Visits", "label": "Visits", "unit": "visits"}),
    Feature.from_dict({"name": "tenure", "column": "Tenure", "label": "Tenure", "unit": "years"}),
]


@pytest.fixture
def with_segmentations(client_for, fresh_dir: Path, tmp_path: Path) -> TestClient:
    catalog = SegmentationCatalog(fresh_dir)
    loyalty = catalog.create(
        SegmentationSpec.from_dict({"name": "loyalty", "kind": "columns", "features": [f.to_dict() for f in LOYALTY]})
    )
    train_segmentation(loyalty, write_crm(tmp_path / "crm.csv"), models_root=fresh_dir, k=3, sweep=False)
    rfm = catalog.create(SegmentationSpec.from_dict({"name": "rfm", "kind": "rfm"}))
    transactions, _ = write_transactions(tmp_path / "t.csv", customers=300, seed=3)
    train_segmentation(rfm, transactions, models_root=fresh_dir, k=4, sweep=False)
    return client_for(model_dir=fresh_dir)


def test_a_columns_and_an_rfm_segmentation_explain_their_own_features(with_segmentations: TestClient) -> None:
    api = with_segmentations
    customer = {"income": 140_000, "visits": 3, "tenure": 12}
    response = api.post(
        "/api/v1/segmentations/loyalty/predict", params={"explain": "true"}, json={"features": customer}
    )
    assert response.status_code == 200, response.text
    _check_explanation(response.json()["explanation"], ["income", "visits", "tenure"])
    scored = api.post(
        "/api/v1/segmentations/loyalty/predict/csv",
        params={"explain": "true"},
        content="Income,Visits,Tenure\n140000,3,12\n",
        headers=CSV_TYPE,
    )
    assert scored.status_code == 200, scored.text
    [row] = _rows(scored.text)
    by_feature = {item["feature"]: item for item in response.json()["explanation"]["features"]}
    for name in ("income", "visits", "tenure"):
        assert row[f"position_{name}"] == by_feature[name]["position"]
    rfm = {"recency_days": 30, "frequency": 4, "monetary": 800}
    answer = api.post("/api/v1/segmentations/rfm/predict", params={"explain": "true"}, json={"features": rfm})
    assert answer.status_code == 200, answer.text
    _check_explanation(answer.json()["explanation"], ["recency_days", "frequency", "monetary"])


def _old_version(root: Path) -> str:
    """Store the active model again as a version trained before typical ranges were recorded, and activate it."""
    model = load_model(root)
    segments = [
        dataclasses.replace(s, stats={n: FeatureStats(**st.summary()) for n, st in s.stats.items()})
        for s in model.segments
    ]
    version = new_version_id(datetime.now(UTC), "0" * 64)
    old = SegmentationModel(
        model.features,
        model.mean,
        model.scale,
        model.cluster_centers,
        segments,
        {**model.info, "version": version},
        (model.scaler, model.kmeans),
    )
    save_model(old, root)
    info = (root / version / "model_info.json").read_text(encoding="utf-8")
    assert '"p10"' not in info  # what a version trained before this change holds
    VersionStore(root).activate(version, reason="an old version")
    return version


def test_an_old_version_answers_what_it_recorded_and_says_what_is_missing(client_for, fresh_dir: Path) -> None:
    version = _old_version(fresh_dir)
    api = client_for(model_dir=fresh_dir)
    response = api.post("/api/v1/predict", params={"explain": "true"}, json=LOW_INCOME)
    assert response.status_code == 200
    body = response.json()
    assert body["model_version"] == version
    explanation = body["explanation"]
    for item in explanation["features"]:
        assert item["typical_low"] is None and item["typical_high"] is None and item["position"] is None
        assert item["share_of_distance"] >= 0
    [note] = explanation["missing"]
    assert version in note and "retrain" in note
    assert explanation["confidence_text"].startswith("Confidence measures")
    scored = api.post("/api/v1/predict/csv", params={"explain": "true"}, content=CSV_BODY, headers=CSV_TYPE)
    assert scored.status_code == 200
    first = _rows(scored.text)[0]
    assert first["typical_low_annual_income"] == "" and first["position_annual_income"] == ""
    assert first["share_of_distance_annual_income"] != ""
