"""GET /clusters, /clusters/info, /clusters/{id} and /model/info report the loaded model truthfully."""

import pytest


def test_clusters_statistics(client, model):
    response = client.get("/api/v1/clusters")
    assert response.status_code == 200
    body = response.json()
    assert body["n_samples"] == 200
    assert [segment["segment_id"] for segment in body["segments"]] == [0, 1, 2, 3, 4]
    assert sum(segment["size"] for segment in body["segments"]) == 200
    assert sum(segment["share"] for segment in body["segments"]) == pytest.approx(1)
    for segment in body["segments"]:
        income = segment["features"]["annual_income"]
        assert income["min"] <= income["mean"] <= income["max"]
        assert segment["centroid"]["annual_income"] == pytest.approx(income["mean"])
        assert set(segment["features"]) == {"annual_income", "spending_score"}
    vip = body["segments"][1]
    assert vip["segment_name"] == "VIP / Whale"
    assert vip["size"] == model.segment(1).size


def test_clusters_info(client):
    response = client.get("/api/v1/clusters/info")
    assert response.status_code == 200
    segments = response.json()["segments"]
    assert [s["segment_name"] for s in segments] == [
        "Average Customer",
        "VIP / Whale",
        "Young Trendsetter",
        "High Earner Saver",
        "Budget Conscious",
    ]
    for segment in segments:
        assert segment["description"] and len(segment["marketing_strategy"]) >= 3
        assert len(segment["characteristics"]) == 2
    assert segments[1]["levels"] == {"annual_income": "high", "spending_score": "high"}


def test_one_cluster_combines_statistics_and_info(client):
    response = client.get("/api/v1/clusters/3")
    assert response.status_code == 200
    body = response.json()
    assert body["segment_name"] == "High Earner Saver"
    assert body["levels"] == {"annual_income": "high", "spending_score": "low"}
    assert body["size"] > 0 and body["marketing_strategy"]


def test_model_info(client, model):
    response = client.get("/api/v1/model/info")
    assert response.status_code == 200
    body = response.json()
    assert body["algorithm"] == "KMeans"
    assert body["n_clusters"] == 5
    assert body["features"] == ["annual_income", "spending_score"]
    assert body["version"] == model.version
    assert body["n_samples"] == 200
    assert body["metrics"]["silhouette"] >= 0.5
    assert [entry["k"] for entry in body["k_selection"]] == list(range(2, 11))
    assert body["sklearn_version"]
    assert "segments" not in body and "artifacts" not in body


def test_openapi_declares_every_error_status(client):
    schema = client.get("/openapi.json").json()
    operations = {
        (path, method): operation for path, item in schema["paths"].items() for method, operation in item.items()
    }
    expected = {
        ("/api/v1/predict", "post"): {"200", "400", "404", "413", "422", "503"},
        ("/api/v1/predict/batch", "post"): {"200", "400", "404", "413", "422", "503"},
        ("/api/v1/predict/csv", "post"): {"200", "400", "404", "413", "415", "422", "503"},
        ("/api/v1/clusters", "get"): {"200", "503"},
        ("/api/v1/clusters/info", "get"): {"200", "503"},
        ("/api/v1/clusters/{segment_id}", "get"): {"200", "404", "422", "503"},
        ("/api/v1/model/info", "get"): {"200", "503"},
        ("/api/v1/health", "get"): {"200", "503"},
    }
    assert set(operations) == set(expected)
    for key, statuses in expected.items():
        operation = operations[key]
        assert set(operation["responses"]) == statuses, key
        assert operation["summary"] and operation["description"], key
        for status in statuses - {"200"}:
            ref = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorResponse") or (key[0].endswith("health") and ref.endswith("/HealthResponse"))
    components = schema["components"]["schemas"]
    for key in expected:
        # Every answer has an example /docs can show.
        ok = operations[key]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert components[ok].get("examples"), key
    for body in ("CustomerIn", "BatchIn"):
        assert components[body].get("examples"), body
    assert operations[("/api/v1/predict/batch", "post")]["requestBody"]["required"] is True
    assert schema["components"]["schemas"]["BatchIn"]["properties"]["customers"]["maxItems"] == 10_000
    assert "HTTPValidationError" not in schema["components"]["schemas"]


def test_docs_pages_load_assets_locally(client):
    for path in ("/docs", "/redoc"):
        response = client.get(path)
        assert response.status_code == 200
        assert "cdn." not in response.text and "fonts.googleapis" not in response.text
        assert "/static-docs/" in response.text
    assert client.get("/static-docs/swagger-ui-bundle.js").status_code == 200
    assert client.get("/static-docs/redoc.standalone.js").status_code == 200
