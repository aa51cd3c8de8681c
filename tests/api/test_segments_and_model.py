"""GET /clusters, /clusters/info, /clusters/{id} and /model/info report the loaded model truthfully."""

import pytest
from fastapi.routing import APIRoute

from app.controllers import deps
from app.controllers.api import outcomes


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


@pytest.mark.parametrize("segment_id", ["%0D1", "%201", "1_0", "%D9%A1", "1.0", "-1"])
def test_a_segment_id_is_digits_only(client, segment_id):
    response = client.get(f"/api/v1/clusters/{segment_id}")
    assert response.status_code == 422
    assert response.json()["type"] == "validation_error"


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
    assert body["sklearn_version"] is None  # for admins only (tests/api/test_model_info.py)
    assert "segments" not in body and "artifacts" not in body


# A failed credential (unknown, revoked, none of ours), a role too low, and failed credentials past the allowance.
CREDENTIAL_ERRORS = {"401", "403", "429"}
# The API's operations that check no credential: the health check, and signing in for a token.
UNGUARDED = {("/api/v1/health", "get"), ("/api/v1/auth/token", "post")}
# The dependencies that check a credential sent (or a role), directly or through the prediction limit.
GUARDS = {
    deps.require_viewer,
    deps.require_analyst,
    deps.require_user,
    deps.require_admin_key,
    deps.optional_admin_key,
    deps.require_editor,
    deps.get_served_model,
    deps.limit_by_client_ip,
    outcomes.require_outcome_writer,
}


def _leaf_routes(routes):
    """Every route as the app serves it: an included router's with the dependencies and responses of its include."""
    for route in routes:
        children = getattr(route, "effective_candidates", None)
        if callable(children):
            yield from _leaf_routes(children())
        else:
            yield route


def _calls(dependant):
    pending = [dependant]
    while pending:
        dependant = pending.pop()
        yield dependant.call
        pending.extend(dependant.dependencies)


def test_every_route_that_checks_a_credential_documents_how_it_fails(client):
    schema = client.get("/openapi.json").json()
    guarded, undocumented = set(), []
    for route in _leaf_routes(client.app.router.routes):
        if not isinstance(getattr(route, "original_route", route), APIRoute) or not route.include_in_schema:
            continue
        if not GUARDS & set(_calls(route.dependant)):
            continue
        for method in route.methods - {"HEAD"}:
            key = (route.path_format, method.lower())
            guarded.add(key)
            missing = CREDENTIAL_ERRORS - set(schema["paths"][key[0]][key[1]]["responses"])
            if missing:
                undocumented.append(f"{method} {route.path_format}: {sorted(missing)}")
    assert undocumented == []
    api = {(path, method) for path, item in schema["paths"].items() for method in item if path.startswith("/api/")}
    assert api - guarded == UNGUARDED


def test_openapi_declares_every_error_status(client):
    schema = client.get("/openapi.json").json()
    operations = {
        (path, method): operation for path, item in schema["paths"].items() for method, operation in item.items()
    }
    edit = {"200", "401", "403", "404", "405", "409", "422", "429", "503"}  # the team's segment text
    expected = {
        ("/api/v1/predict", "post"): {"200", "400", "404", "413", "415", "422", "429", "503"},
        ("/api/v1/predict/batch", "post"): {"200", "400", "404", "413", "415", "422", "429", "503"},
        ("/api/v1/predict/csv", "post"): {"200", "400", "403", "404", "413", "415", "422", "429", "503"},
        ("/api/v1/clusters", "get"): {"200", "503"},
        ("/api/v1/clusters/info", "get"): {"200", "503"},
        ("/api/v1/clusters/{segment_id}", "get"): {"200", "404", "422", "503"},
        ("/api/v1/clusters/{segment_id}/rules", "get"): {"200", "404", "409", "422", "503"},
        ("/api/v1/clusters/{segment_id}", "patch"): edit | {"400", "413", "415"},
        ("/api/v1/clusters/{segment_id}/history", "get"): {"200", "404", "422", "503"},
        ("/api/v1/clusters/{segment_id}/history/{entry_id}/revert", "post"): edit - {"405"},
        ("/api/v1/model/info", "get"): {"200", "403", "429", "503"},
        ("/api/v1/health", "get"): {"200", "503"},
        ("/api/v1/monitoring/drift", "get"): {"200", "404", "422", "503"},
        ("/api/v1/monitoring/drift/history", "get"): {"200", "404", "422", "503"},
        ("/api/v1/monitoring/timeseries", "get"): {"200", "404", "422", "503"},
        ("/api/v1/monitoring/predictions", "get"): {"200", "404", "422", "503"},
        ("/api/v1/models", "get"): {"200"},
        ("/api/v1/models", "post"): {"202", "400", "401", "403", "409", "413", "415", "422", "429", "503"},
        ("/api/v1/models/history", "get"): {"200"},
        ("/api/v1/models/rollback", "post"): {"200", "401", "403", "409", "422", "429"},
        ("/api/v1/models/{version}", "get"): {"200", "404", "422"},
        ("/api/v1/models/{version}", "delete"): {"204", "401", "403", "404", "409", "422", "429"},
        ("/api/v1/models/{version}", "patch"): {"200", "400", "401", "403", "404", "413", "415", "422", "429"},
        ("/api/v1/models/{version}/compare", "get"): {"200", "404", "409", "422", "503"},
        ("/api/v1/models/{version}/activate", "post"): {"200", "401", "403", "404", "409", "422", "429"},
        ("/api/v1/models/{version}/report", "get"): {"200", "404", "422", "503"},
        ("/api/v1/jobs/{job_id}", "get"): {"200", "404", "422"},
        ("/api/v1/jobs", "get"): {"200", "401", "403", "429"},
        ("/api/v1/runs", "get"): {"200", "404", "422", "503"},
        ("/api/v1/runs/{run_id}", "get"): {"200", "404", "410", "422", "503"},
        ("/api/v1/runs/{run_id}", "delete"): {"204", "401", "403", "404", "422", "429", "503"},
        ("/api/v1/runs/{run_id}/file", "get"): {"200", "404", "410", "422", "503"},
        ("/api/v1/runs/{run_id}/crm", "get"): {"200", "404", "409", "410", "422", "503"},
        ("/api/v1/runs/{run_id}/customers", "get"): {"200", "404", "410", "422", "503"},
        ("/api/v1/runs/{a}/compare/{b}", "get"): {"200", "404", "409", "410", "422", "503"},
        ("/api/v1/runs/{run_id}/report", "get"): {"200", "404", "410", "422", "503"},
        ("/api/v1/runs/{run_id}/drift", "get"): {"200", "404", "410", "422", "503"},
        ("/api/v1/challenger", "get"): {"200", "404", "422"},
        ("/api/v1/challenger", "put"): {"200", "400", "401", "403", "404", "409", "415", "422", "429", "503"},
        ("/api/v1/challenger", "delete"): {"200", "401", "403", "404", "409", "422", "429"},
        ("/api/v1/challenger/promote", "post"): {"200", "401", "403", "404", "409", "422", "429"},
        ("/api/v1/challenger/report", "get"): {"200", "404", "409", "422", "503"},
        ("/api/v1/outcomes", "post"): {"200", "400", "401", "403", "404", "413", "415", "422", "429", "503"},
        ("/api/v1/experiments", "get"): {"200", "404", "422", "503"},
        ("/api/v1/experiments/{campaign}", "get"): {"200", "404", "422", "503"},
        ("/api/v1/proposals", "post"): {"201", "400", "401", "403", "404", "409", "415", "422", "429", "503"},
        ("/api/v1/proposals", "get"): {"200", "404", "422", "503"},
        ("/api/v1/proposals/{proposal_id}", "get"): {"200", "404", "422", "503"},
        ("/api/v1/proposals/{proposal_id}/accept", "post"): {"200", "401", "403", "404", "409", "422", "429", "503"},
        ("/api/v1/proposals/{proposal_id}/dismiss", "post"): {"200", "401", "403", "404", "409", "422", "429", "503"},
    }
    # Every per-model route again under a segmentation's name, which may be unknown (404) or malformed (422).
    per_model = ("/predict/csv", "/clusters", "/model/", "/models", "/jobs", "/monitoring/")
    for (path, method), statuses in list(expected.items()):
        if path.removeprefix("/api/v1").startswith(per_model):
            expected[(path.replace("/api/v1", "/api/v1/segmentations/{segmentation}"), method)] = {
                *statuses,
                "404",
                "422",
            }
    predict = {"200", "400", "404", "413", "415", "422", "429", "503"}
    expected[("/api/v1/segmentations/{segmentation}/predict", "post")] = predict
    expected[("/api/v1/segmentations/{segmentation}/predict/batch", "post")] = predict
    expected[("/api/v1/predict/counterfactual", "post")] = predict
    expected[("/api/v1/segmentations/{segmentation}/predict/counterfactual", "post")] = predict
    expected[("/api/v1/segmentations", "get")] = {"200"}
    expected[("/api/v1/files/profile", "post")] = {"200", "400", "401", "403", "413", "415", "422", "429"}
    expected[("/api/v1/segmentations", "post")] = {"201", "400", "401", "403", "409", "413", "415", "422", "429"}
    expected[("/api/v1/segmentations/{segmentation}", "get")] = {"200", "404", "422"}
    deleted = {"204", "401", "403", "404", "409", "422", "429", "503"}  # 503: the database cannot forget its history
    expected[("/api/v1/segmentations/{segmentation}", "delete")] = deleted
    expected[("/api/v1/auth/token", "post")] = {"200", "401", "422", "429", "503"}
    expected[("/api/v1/auth/keys", "get")] = {"200", "401"}
    expected[("/api/v1/auth/keys", "post")] = {"201", "400", "401", "403", "413", "415", "422"}
    expected[("/api/v1/auth/keys/{key_id}", "delete")] = {"204", "401", "404", "422"}
    expected[("/api/v1/auth/password", "post")] = {"204", "400", "401", "403", "413", "415", "422", "429"}
    expected[("/api/v1/users", "get")] = {"200", "401", "403", "429"}
    expected[("/api/v1/users", "post")] = {"201", "400", "401", "403", "409", "413", "415", "422", "429"}
    expected[("/api/v1/users/{user_id}", "patch")] = {
        *("200", "400", "401", "403", "404", "409", "413", "415", "422", "429")
    }
    expected[("/api/v1/users/{user_id}/password", "put")] = {
        "204",
        "400",
        "401",
        "403",
        "404",
        "413",
        "415",
        "422",
        "429",
    }
    admin = {"401", "403", "429"}
    expected[("/api/v1/webhooks", "get")] = {"200", *admin}
    expected[("/api/v1/webhooks", "post")] = {"201", "400", "413", "415", "422", *admin}
    expected[("/api/v1/webhooks/{subscription_id}", "delete")] = {"204", "404", "422", *admin}
    expected[("/api/v1/webhooks/{subscription_id}/deliveries", "get")] = {"200", "404", "422", *admin}
    expected[("/api/v1/webhooks/{subscription_id}/test", "post")] = {"202", "404", "422", *admin}
    expected[("/api/v1/audit", "get")] = {"200", "422", "503", *admin}
    # Every other route checks a key or token sent (the test below): each documents how that can fail.
    for key in expected.keys() - UNGUARDED:
        expected[key] = expected[key] | CREDENTIAL_ERRORS
    # The operational endpoints (/livez, /readyz, /metrics) are checked in tests/api/test_ops.py.
    assert {key for key in operations if key[0].startswith("/api/")} == set(expected)
    for key, statuses in expected.items():
        operation = operations[key]
        assert set(operation["responses"]) == statuses, key
        assert operation["summary"] and operation["description"], key
        for parameter in operation.get("parameters", []):  # what each query and path value means, in /docs
            assert parameter.get("description") or parameter["schema"].get("description"), (key, parameter["name"])
        for status in statuses - {"200", "201", "202", "204"}:
            ref = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorResponse") or (key[0].endswith("health") and ref.endswith("/HealthResponse"))
    components = schema["components"]["schemas"]
    # A segment report is a document; the challenger's agreement report is JSON like every other answer.
    reports = {key for key in expected if key[0].endswith("/report") and "/challenger/" not in key[0]}
    for key in reports:  # a report is a document, not JSON
        assert set(operations[key]["responses"]["200"]["content"]) == {"text/html", "application/pdf"}, key
    for key in (key for key, statuses in expected.items() if "200" in statuses and key not in reports):
        if "application/json" not in operations[key]["responses"]["200"]["content"]:
            continue  # a file download (a run's labelled file): CSV or Parquet, no JSON
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
        assert '<html lang="en">' in response.text
        assert 'href="/">&larr; Back to Customer Segmentation</a>' in response.text
    assert "/static-docs/swagger-ui-bundle.js" in client.get("/docs").text
    assert client.get("/static-docs/swagger-ui-bundle.js").status_code == 200
    bundle = client.get("/docs-assets/redoc.standalone.js")
    assert bundle.status_code == 200 and bundle.headers["content-type"].startswith("text/javascript")
    # ReDoc's footer logo comes from this server, not from Redocly's CDN.
    assert b"cdn.redoc.ly" not in bundle.content and b"/static/docs/logo-mini.svg" in bundle.content
    assert client.get("/static/docs/logo-mini.svg").status_code == 200


def test_clusters_show_age_and_gender_profiles(client):
    response = client.get("/api/v1/clusters")
    assert response.status_code == 200
    for segment in response.json()["segments"]:
        age, gender = segment["profile"]["age"], segment["profile"]["gender"]
        assert 18 <= age["q1"] <= age["median"] <= age["q3"] <= 70
        assert 18 <= age["mean"] <= 70
        assert set(gender) == {"Female", "Male"} and sum(gender.values()) == pytest.approx(1, abs=1e-3)
    trendsetter = client.get("/api/v1/clusters/2").json()
    assert trendsetter["segment_name"] == "Young Trendsetter"
    assert trendsetter["profile"]["age"]["mean"] < 35


def test_clusters_leave_profiles_out_when_the_data_has_no_age_or_gender(client_for, default_data, tmp_path):
    import pandas as pd

    from app.models.training import train

    bare = tmp_path / "bare.csv"
    pd.read_csv(default_data).drop(columns=["Age", "Gender"]).to_csv(bare, index=False)
    train(bare, output_dir=tmp_path / "model")
    client = client_for(model_dir=tmp_path / "model")
    segments = client.get("/api/v1/clusters").json()["segments"]
    assert all("profile" not in segment for segment in segments)
    assert "profile" not in client.get("/api/v1/clusters/1").json()
