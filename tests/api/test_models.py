"""The model-version API: list, detail, activate, rollback, history, delete; the admin key on every change."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.models.versions.store import VersionStore

KEY = "test-admin-key-1"
ADMIN = {"X-API-Key": KEY}


@pytest.fixture
def admin_client(client_for, two_versions):
    return client_for(model_dir=two_versions[0], admin_api_keys=[KEY, "another-admin-key-0123"])


def test_list_versions(admin_client, two_versions):
    _, first, second = two_versions
    response = admin_client.get("/api/v1/models")
    assert response.status_code == 200
    body = response.json()
    assert body["active"] == first
    assert [v["version"] for v in body["versions"]] == [second, first]
    entry = body["versions"][1]
    assert entry["active"] is True and entry["k"] == 5 and entry["n_samples"] == 200
    assert entry["features"] == ["annual_income", "spending_score"]
    assert entry["metrics"]["silhouette"] > 0.5 and len(entry["k_selection"]) == 9


def test_version_detail_has_segments(admin_client, two_versions):
    response = admin_client.get(f"/api/v1/models/{two_versions[2]}")
    assert response.status_code == 200
    segments = response.json()["segments"]
    assert {s["name"] for s in segments} >= {"VIP / Whale", "Budget Conscious"}
    assert sum(s["size"] for s in segments) == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/models/20000101.000000-none"),
        ("post", "/api/v1/models/20000101.000000-none/activate"),
        ("delete", "/api/v1/models/20000101.000000-none"),
        ("get", "/api/v1/models/..%2F..%2Fetc"),
    ],
)
def test_unknown_version_is_404(admin_client, method, path):
    response = getattr(admin_client, method)(path, headers=ADMIN)
    assert response.status_code == 404
    assert response.json()["type"] in {"unknown_model_version", "not_found"}


def test_activate_switches_what_predictions_use_and_records_history(admin_client, two_versions):
    _, first, second = two_versions
    response = admin_client.post(f"/api/v1/models/{second}/activate", params={"reason": "A/B winner"}, headers=ADMIN)
    assert response.status_code == 200
    entry = response.json()
    assert entry["from"] == first and entry["to"] == second and entry["reason"] == "A/B winner"
    assert entry["key_id"].startswith("key-") and KEY not in entry["key_id"]
    predicted = admin_client.post("/api/v1/predict", json={"annual_income": 120, "spending_score": 90})
    assert predicted.json()["model_version"] == second
    history = admin_client.get("/api/v1/models/history").json()["entries"]
    assert history[-1]["to"] == second


def test_rollback_returns_to_the_previous_version(admin_client, two_versions):
    _, first, second = two_versions
    assert admin_client.post(f"/api/v1/models/{second}/activate", headers=ADMIN).status_code == 200
    response = admin_client.post("/api/v1/models/rollback", headers=ADMIN)
    assert response.status_code == 200
    assert response.json()["to"] == first
    assert admin_client.get("/api/v1/health").json()["model_version"] == first


def _active_in_metrics(client) -> dict[str, float]:
    """model_active_info by version, from /metrics."""
    response = client.get("/metrics", headers=ADMIN)
    assert response.status_code == 200
    return {
        sample.labels["version"]: sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "model_active_info"
    }


def test_metrics_follow_activation_and_rollback(admin_client, two_versions):
    _, first, second = two_versions
    assert _active_in_metrics(admin_client)[first] == 1
    assert admin_client.post(f"/api/v1/models/{second}/activate", headers=ADMIN).status_code == 200
    active = _active_in_metrics(admin_client)
    assert active[second] == 1 and active[first] == 0
    assert admin_client.post("/api/v1/models/rollback", headers=ADMIN).status_code == 200
    active = _active_in_metrics(admin_client)
    assert active[first] == 1 and active[second] == 0


def test_activating_the_active_version_is_409_and_rollback_still_goes_back(admin_client, two_versions):
    _, first, second = two_versions
    assert admin_client.post(f"/api/v1/models/{second}/activate", headers=ADMIN).status_code == 200
    history = admin_client.get("/api/v1/models/history").json()["entries"]
    again = admin_client.post(f"/api/v1/models/{second}/activate", headers=ADMIN)
    assert again.status_code == 409
    assert again.json()["type"] == "conflict"
    assert again.json()["message"] == f"version {second} is already active; nothing was changed"
    assert admin_client.get("/api/v1/models/history").json()["entries"] == history
    response = admin_client.post("/api/v1/models/rollback", headers=ADMIN)
    assert response.status_code == 200
    assert response.json()["from"] == second and response.json()["to"] == first


def test_rollback_without_history_is_409(client_for, fresh_dir):
    client = client_for(model_dir=fresh_dir, admin_api_keys=[KEY])  # one version, trained into an empty folder
    response = client.post("/api/v1/models/rollback", headers=ADMIN)
    assert response.status_code == 409
    assert response.json()["type"] == "conflict"


def test_delete_refuses_the_active_version_and_removes_others(admin_client, two_versions):
    _, first, second = two_versions
    refused = admin_client.delete(f"/api/v1/models/{first}", headers=ADMIN)
    assert refused.status_code == 409
    assert "is active" in refused.json()["message"]
    assert admin_client.delete(f"/api/v1/models/{second}", headers=ADMIN).status_code == 204
    assert admin_client.get(f"/api/v1/models/{second}").status_code == 404
    assert (
        admin_client.post(
            "/api/v1/predict", params={"model_version": second}, json={"annual_income": 1, "spending_score": 2}
        ).status_code
        == 404
    )


def test_predict_with_a_non_active_version(admin_client, two_versions):
    _, first, second = two_versions
    body = {"annual_income": 120, "spending_score": 90}
    response = admin_client.post("/api/v1/predict", params={"model_version": second}, json=body)
    assert response.status_code == 200 and response.json()["model_version"] == second
    batch = admin_client.post("/api/v1/predict/batch", params={"model_version": second}, json={"customers": [body]})
    assert batch.status_code == 200 and batch.json()["model_version"] == second
    assert admin_client.post("/api/v1/predict", json=body).json()["model_version"] == first


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/models/{v}/activate"),
        ("post", "/api/v1/models/rollback"),
        ("delete", "/api/v1/models/{v}"),
        ("post", "/api/v1/models"),
    ],
)
def test_admin_routes_need_the_key(admin_client, client_for, two_versions, method, path):
    path = path.format(v=two_versions[2])
    missing = getattr(admin_client, method)(path)
    assert missing.status_code == 401
    assert missing.json()["type"] == "admin_key_missing" and missing.json()["request_id"]
    wrong = getattr(admin_client, method)(path, headers={"X-API-Key": "nope"})
    assert wrong.status_code == 403
    assert wrong.json()["type"] == "admin_key_refused"
    closed = client_for(model_dir=two_versions[0])  # no keys configured: never open
    refused = getattr(closed, method)(path, headers=ADMIN)
    assert refused.status_code == 403
    assert "ADMIN_API_KEYS" in refused.json()["message"]
    assert VersionStore(two_versions[0]).active_version() == two_versions[1]
    assert VersionStore(two_versions[0]).versions() == sorted(two_versions[1:])


def test_unusable_version_is_listed_with_reason_and_activation_is_409(admin_client, two_versions):
    root, _, second = two_versions
    (root / second / "model_info.json").write_text("{}")
    listed = next(v for v in admin_client.get("/api/v1/models").json()["versions"] if v["version"] == second)
    assert listed["usable"] is False and "model_info.json" in listed["reason"]
    response = admin_client.post(f"/api/v1/models/{second}/activate", headers=ADMIN)
    assert response.status_code == 409


def test_admin_key_is_in_the_openapi_schema(admin_client):
    schema = admin_client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["AdminKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": schema["components"]["securitySchemes"]["AdminKey"]["description"],
    }
    # Checking the key before the body (AdminKeyFirstRoute) keeps the scheme on every admin operation.
    paths = schema["paths"]
    for method, path in [("post", "/api/v1/models"), ("post", "/api/v1/models/{version}/activate")]:
        assert paths[path][method]["security"] == [{"AdminKey": []}, {"OAuth2": []}]
    # Reads are open while PUBLIC_READS is on: any credential, or none.
    assert paths["/api/v1/models"]["get"]["security"] == [{}, {"AdminKey": []}, {"OAuth2": ["read"]}]


def test_compare_with_the_active_version(admin_client, two_versions):
    _, first, second = two_versions
    response = admin_client.get(f"/api/v1/models/{second}/compare", params={"with": "active"})
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == second and body["with_version"] == first
    matrix = body["migration_matrix"]
    assert len(matrix) == len(body["old_segments"]) and len(matrix[0]) == len(body["new_segments"])
    assert sum(map(sum, matrix)) == body["n_customers"] == 200
    # Same data, another seed: nearly everyone stays in the segment with the same id.
    old_ids = [s["segment_id"] for s in body["old_segments"]]
    new_ids = [s["segment_id"] for s in body["new_segments"]]
    stay = sum(matrix[i][new_ids.index(sid)] for i, sid in enumerate(old_ids) if sid in new_ids)
    assert stay >= 190
    assert {s["segment_id"] for s in body["centroid_shifts"]} == set(old_ids) & set(new_ids)
    assert all(s["distance"] < 5 for s in body["centroid_shifts"])
    assert set(body["metric_deltas"]) >= {"silhouette", "inertia"}
    delta = body["metric_deltas"]["silhouette"]
    assert abs(delta["new"] - delta["old"] - delta["delta"]) < 1e-12


def test_compare_with_itself_is_the_identity(admin_client, two_versions):
    _, first, _ = two_versions
    body = admin_client.get(f"/api/v1/models/{first}/compare", params={"with": first}).json()
    matrix = body["migration_matrix"]
    assert all(matrix[i][j] == 0 for i in range(len(matrix)) for j in range(len(matrix)) if i != j)
    assert all(change["share_change"] == 0 for change in body["segment_changes"])


def test_compare_unknown_version_is_404(admin_client, two_versions):
    assert admin_client.get("/api/v1/models/nope/compare").status_code == 404
    assert admin_client.get(f"/api/v1/models/{two_versions[1]}/compare", params={"with": "nope"}).status_code == 404
