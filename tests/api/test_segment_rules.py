"""GET /clusters/{id}/rules, and feature importance in /model/info and on each cluster, for every segmentation kind."""

import math
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.controllers.deps import get_segmenter
from app.models.model import SegmentationModel
from app.models.segmentations.catalog import SegmentationCatalog
from app.models.segmentations.spec import SegmentationSpec
from app.models.segmentations.training import train_segmentation
from app.models.synthetic_transactions import write_transactions
from app.services.rules import NO_RULES_NOTE
from tests.models.three_features import write_customers

RULES_KEYS = {
    "model_version", "segment_id", "segment_name", "rules", "conditions", "sql", "fidelity", "precision", "recall",
    "overall_fidelity", "max_depth",
}  # fmt: skip
CRM = {
    "name": "crm",
    "features": [
        {"name": "income", "column": "Income", "label": "Income", "unit": "$", "transform": "log1p"},
        {"name": "visits", "column": "Visits", "label": "Visits", "unit": "per month"},
        {"name": "tenure", "column": "Tenure", "label": "Tenure", "unit": "years"},
    ],
}


@pytest.fixture(scope="module")
def segmentations_root(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's models folder with a 3-feature `columns` segmentation and an `rfm` one, trained once."""
    folder = tmp_path_factory.mktemp("rules-api")
    root = folder / "models_artifacts"
    shutil.copytree(model_dir, root)
    catalog = SegmentationCatalog(root)
    for spec in (CRM, {"name": "rfm", "kind": "rfm"}):
        catalog.create(SegmentationSpec.from_dict(spec))
    train_segmentation(catalog.get("crm"), write_customers(folder / "crm.csv"), models_root=root, k=3, activate=True)
    transactions, _ = write_transactions(folder / "t.csv", customers=300, seed=3)
    train_segmentation(catalog.get("rfm"), transactions, models_root=root, k=4, activate=True)
    return root


@pytest.fixture
def segmented(segmentations_root: Path, client_for) -> TestClient:
    return client_for(model_dir=segmentations_root)


def _check_rules(api: TestClient, prefix: str) -> list[dict]:
    """Every segment's rules under a prefix, checked for shape and consistency; returned for more checks."""
    clusters = api.get(f"{prefix}/clusters")
    assert clusters.status_code == 200
    answers = []
    for segment in clusters.json()["segments"]:
        response = api.get(f"{prefix}/clusters/{segment['segment_id']}/rules")
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == RULES_KEYS
        assert body["segment_id"] == segment["segment_id"] and body["segment_name"] == segment["segment_name"]
        assert all(rule.endswith(f"→ {segment['segment_name']}") for rule in body["rules"])
        assert len(body["rules"]) == len(body["conditions"])
        assert 0 <= body["fidelity"] <= 1 and math.isclose(body["fidelity"], min(body["precision"], body["recall"]))
        assert 0 <= body["overall_fidelity"] <= 1 and body["max_depth"] <= 3
        for alternative in body["conditions"]:
            for condition in alternative:
                assert set(condition) == {"feature", "column", "op", "value"} and condition["op"] in ("<", ">=")
                assert f'"{condition["column"]}"' in body["sql"]
        answers.append(body)
    return answers


def test_every_default_segment_answers_its_rules(client: TestClient) -> None:
    answers = _check_rules(client, "/api/v1")
    assert any(body["conditions"] for body in answers)
    first = answers[0]
    again = client.get(f"/api/v1/segmentations/default/clusters/{first['segment_id']}/rules")
    assert again.status_code == 200 and again.json() == first
    info = client.get("/api/v1/model/info").json()
    assert info["rules_fidelity"] == first["overall_fidelity"]


def test_an_unknown_segment_or_segmentation_has_no_rules(client: TestClient) -> None:
    missing = client.get("/api/v1/clusters/99/rules")
    assert missing.status_code == 404 and "99" in missing.json()["message"]
    assert client.get("/api/v1/segmentations/default/clusters/99/rules").status_code == 404
    assert client.get("/api/v1/segmentations/nowhere/clusters/1/rules").status_code == 404
    assert client.get("/api/v1/clusters/-1/rules").status_code == 422


def test_importance_is_in_model_info_and_on_each_cluster(client: TestClient) -> None:
    info = client.get("/api/v1/model/info")
    assert info.status_code == 200
    importance = info.json()["importance"]
    assert sorted(item["feature"] for item in importance["features"]) == sorted(info.json()["features"])
    assert importance["method"] == "permutation" and importance["sample_size"] == info.json()["n_samples"]
    segments = client.get("/api/v1/clusters").json()["segments"]
    for segment in segments:
        assert set(segment["standardized_centroid"]) == set(info.json()["features"])
    one = client.get(f"/api/v1/clusters/{segments[0]['segment_id']}").json()
    assert one["standardized_centroid"] == segments[0]["standardized_centroid"]


@pytest.mark.parametrize(("name", "units"), [("crm", {"$", "years"}), ("rfm", {"days"})])
def test_a_segmentations_rules_are_in_its_own_columns_and_units(segmented: TestClient, name: str, units) -> None:
    answers = _check_rules(segmented, f"/api/v1/segmentations/{name}")
    features = segmented.get(f"/api/v1/segmentations/{name}/model/info").json()["features"]
    assert {c["feature"] for body in answers for alt in body["conditions"] for c in alt} <= set(features)
    sentences = " ".join(rule for body in answers for rule in body["rules"])
    assert any(f" {unit}" in sentences for unit in units)
    importance = segmented.get(f"/api/v1/segmentations/{name}/model/info").json()["importance"]
    assert sorted(item["feature"] for item in importance["features"]) == sorted(features)
    # The default's rules are its own: other columns never leak in.
    default_columns = {
        c["column"] for body in _check_rules(segmented, "/api/v1") for a in body["conditions"] for c in a
    }
    assert default_columns <= {"Annual Income (k$)", "Spending Score (1-100)"}


def test_a_version_trained_before_rules_says_so_plainly(client_for, model: SegmentationModel) -> None:
    api = client_for()
    recorded = {key: value for key, value in model.info.items() if key not in ("segment_rules", "importance")}
    older = SegmentationModel(model.features, model.mean, model.scale, model.cluster_centers, model.segments, recorded)

    async def serve_older() -> SegmentationModel:
        return older

    api.app.dependency_overrides[get_segmenter] = serve_older
    try:
        segment_id = model.segments[0].segment_id
        refused = api.get(f"/api/v1/clusters/{segment_id}/rules")
        assert refused.status_code == 409
        assert "retrain" in refused.json()["message"] and model.version in refused.json()["message"]
        assert api.get("/api/v1/clusters/99/rules").status_code == 404  # an unknown segment is still unknown
        info = api.get("/api/v1/model/info").json()
        assert info["importance"] is None and info["rules_fidelity"] is None and NO_RULES_NOTE in info["notes"]
        assert "standardized_centroid" not in api.get("/api/v1/clusters").json()["segments"][0]
        page = api.get("/about")
        assert page.status_code == 200 and "retrain" in page.text
    finally:
        del api.app.dependency_overrides[get_segmenter]
