"""Readiness, auto-training, CORS, request ids and access logs."""

import json
import logging
import shutil

import pytest
from pydantic import ValidationError

from app.core.config import Settings
from app.models.versions.store import VersionStore


def test_health_when_ready(client, model):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["model_loaded"] is True
    assert body["model_version"] == model.version
    assert body["uptime_seconds"] >= 0 and body["app_version"]


def test_head_of_health_answers_for_monitors(client, client_for, tmp_path):
    ready = client.head("/api/v1/health")
    assert ready.status_code == 200
    assert ready.content == b""
    assert ready.headers["x-request-id"]
    assert client_for(model_dir=tmp_path / "empty").head("/api/v1/health").status_code == 503


def test_missing_artifacts_mean_not_ready(client_for, tmp_path):
    client = client_for(model_dir=tmp_path / "empty")
    health = client.get("/api/v1/health")
    assert health.status_code == 503
    assert health.json()["status"] == "unavailable"
    assert "no model version is active" in health.json()["reason"]
    for method, path, body in [
        ("post", "/api/v1/predict", {"annual_income": 5, "spending_score": 5}),
        ("post", "/api/v1/predict/batch", {"customers": [{"annual_income": 5, "spending_score": 5}]}),
        ("get", "/api/v1/clusters", None),
        ("get", "/api/v1/model/info", None),
    ]:
        response = getattr(client, method)(path, **({"json": body} if body else {}))
        assert response.status_code == 503, path
        assert response.json()["type"] == "model_not_ready"
        assert "no model version is active" in response.json()["message"]


@pytest.mark.parametrize("name", ["kmeans_model.pkl", "scaler.pkl", "model_info.json"])
def test_tampered_artifacts_mean_not_ready(client_for, model_dir, tmp_path, name):
    copy = tmp_path / "models_artifacts"
    shutil.copytree(model_dir, copy)
    path = copy / VersionStore(copy).active_version() / name
    if name == "model_info.json":
        info = json.loads(path.read_text())
        info["segments"][1]["strategy"][0] = "TAMPERED"
        path.write_text(json.dumps(info))
    else:
        path.write_bytes(b"tampered")
    client = client_for(model_dir=copy)
    health = client.get("/api/v1/health")
    assert health.status_code == 503
    assert "does not match the sha256" in health.json()["reason"]
    assert str(tmp_path) not in health.json()["reason"]
    predict = client.post("/api/v1/predict", json={"annual_income": 5, "spending_score": 5})
    assert predict.status_code == 503
    assert "does not match the sha256" in predict.json()["message"]


def test_auto_train_creates_the_default_model(client_for, default_data, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="app")
    model_dir = tmp_path / "models_artifacts"
    client = client_for(model_dir=model_dir, auto_train=True, processed_dir=tmp_path / "processed")
    health = client.get("/api/v1/health")
    assert health.status_code == 200
    assert health.json()["auto_trained"] is True
    assert VersionStore(model_dir).active_version() == health.json()["model_version"]
    assert any(
        r.levelno == logging.WARNING and "training one automatically on the bundled synthetic data" in r.message
        for r in caplog.records
    )
    info = client.get("/api/v1/model/info").json()
    assert info["auto_trained"] is True and any("bundled synthetic data" in note for note in info["notes"])
    response = client.post("/api/v1/predict", json={"annual_income": 120, "spending_score": 90})
    assert response.json()["segment_name"] == "VIP / Whale"


def test_no_silent_retrain_when_a_model_existed_before(client_for, model_dir, tmp_path):
    copy = tmp_path / "models_artifacts"
    shutil.copytree(model_dir, copy)
    shutil.rmtree(copy / VersionStore(copy).active_version())  # the model folder was lost
    client = client_for(model_dir=copy, auto_train=True, processed_dir=tmp_path / "processed")
    health = client.get("/api/v1/health")
    assert health.status_code == 503
    assert "not on disk" in health.json()["reason"]
    assert VersionStore(copy).versions() == []


def test_trained_model_is_not_flagged_as_auto_trained(client):
    assert client.get("/api/v1/health").json()["auto_trained"] is False
    info = client.get("/api/v1/model/info").json()
    assert info["auto_trained"] is False and info["signed"] is False
    assert any("unsigned" in note for note in info["notes"])


def test_cors_allows_only_listed_origins(client_for):
    client = client_for(cors_origins=["https://shop.example"])
    allowed = client.get("/api/v1/health", headers={"Origin": "https://shop.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    assert "access-control-allow-credentials" not in allowed.headers
    denied = client.get("/api/v1/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in denied.headers
    preflight = client.options(
        "/api/v1/predict",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_default_is_same_origin_only(client):
    response = client.get("/api/v1/health", headers={"Origin": "https://shop.example"})
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("origins", ["*", "https://a.example,*", ["*"]])
def test_wildcard_origin_is_refused(origins):
    with pytest.raises(ValidationError, match="not allowed"):
        Settings(_env_file=None, cors_origins=origins)


def test_comma_separated_origins_from_environment(monkeypatch):
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings(_env_file=None).cors_origins == ["https://a.example", "https://b.example"]


def test_request_id_is_echoed_or_generated(client):
    echoed = client.get("/api/v1/health", headers={"X-Request-ID": "trace-123"})
    assert echoed.headers["x-request-id"] == "trace-123"
    generated = client.get("/api/v1/health")
    assert len(generated.headers["x-request-id"]) == 32
    unsafe = client.get("/api/v1/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"
    error = client.post("/api/v1/predict", json={}, headers={"X-Request-ID": "trace-456"})
    assert error.json()["request_id"] == "trace-456"


def test_one_access_log_line_per_request(client, caplog):
    caplog.set_level(logging.INFO, logger="app.access")
    client.post("/api/v1/predict", json={"annual_income": 5, "spending_score": 5}, headers={"X-Request-ID": "log-1"})
    records = [r for r in caplog.records if r.name == "app.access" and r.request_id == "log-1"]
    assert len(records) == 1
    record = records[0]
    assert (record.method, record.path, record.status) == ("POST", "/api/v1/predict", 200)
    assert record.duration_ms >= 0


def test_json_log_format(make_settings, capsys):
    from app.core.logging import configure_logging

    app_logger = logging.getLogger("app")
    saved = app_logger.handlers[:], app_logger.level
    configure_logging(make_settings(log_format="json"))
    try:
        logging.getLogger("app.access").info("request", extra={"request_id": "r1", "status": 200})
        line = capsys.readouterr().err.strip().splitlines()[-1]
        payload = json.loads(line)
        assert payload["request_id"] == "r1" and payload["status"] == 200 and payload["message"] == "request"
    finally:
        # Put back the handlers as they were: configuring again here would bind them to capsys's stream, which
        # is gone after this test, so every later test's log output would vanish.
        app_logger.handlers[:], level = saved
        app_logger.setLevel(level)


def test_model_on_other_features_explains_what_the_api_cannot_give(client_for, default_data, tmp_path):
    from app.models.training import train

    model_dir = tmp_path / "age_model"
    train(default_data, output_dir=model_dir, features=["age", "spending_score"])
    client = client_for(model_dir=model_dir)
    version = client.get("/api/v1/health").json()["model_version"]
    for path, body in [
        ("/api/v1/predict", {"annual_income": 50, "spending_score": 50}),
        ("/api/v1/predict/batch", {"customers": [{"annual_income": 50, "spending_score": 50}]}),
    ]:
        response = client.post(path, json=body)
        assert response.status_code == 422, path
        assert response.json()["message"] == (
            f"model version {version} also needs 'age', which the JSON predict API does not take (it takes "
            "annual_income and spending_score): score these customers with POST /api/v1/predict/csv, which reads "
            "every column the model uses, or activate a version trained on annual_income and spending_score"
        )
    csv = client.post(
        "/api/v1/predict/csv", content="age,spending_score\n30,50\n", headers={"content-type": "text/csv"}
    )
    assert csv.status_code == 200


def test_large_answers_are_gzipped_and_small_ones_are_not(client, client_for):
    gzip = {"accept-encoding": "gzip"}
    small = client.post("/api/v1/predict", json={"annual_income": 5, "spending_score": 5}, headers=gzip)
    assert small.status_code == 200
    assert "content-encoding" not in small.headers
    customers = {"customers": [{"annual_income": 5 + i % 100, "spending_score": 1 + i % 99} for i in range(200)]}
    large = client.post("/api/v1/predict/batch", json=customers, headers=gzip)
    assert large.status_code == 200
    assert large.headers["content-encoding"] == "gzip"
    assert int(large.headers["content-length"]) * 4 < len(large.content)  # httpx hands back the decoded body
    assert large.json()["count"] == 200
    assert "accept-encoding" in large.headers["vary"].lower()
    identity = client.post("/api/v1/predict/batch", json=customers, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in identity.headers and identity.json() == large.json()
    # Both answers say they vary with Accept-Encoding, so a cache keeps them apart.
    assert "accept-encoding" in identity.headers["vary"].lower()
    off = client_for(gzip_min_bytes=0).post("/api/v1/predict/batch", json=customers, headers=gzip)
    assert off.status_code == 200 and "content-encoding" not in off.headers
