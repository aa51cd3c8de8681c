"""The /models router (model versions): one router, per-route body limits, one Allow header, mountable again."""

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.controllers.api import versions
from app.core.handlers import register_error_handlers
from app.core.rate_limit import RateLimiter

KEY = "router-admin-key"
ADMIN = {"X-API-Key": KEY}


def test_training_takes_uploads_above_the_json_limit_up_to_its_own(client_for, fresh_dir):
    client = client_for(model_dir=fresh_dir, admin_api_keys=[KEY], max_body_bytes=2_048, train_max_upload_bytes=20_000)
    # Over the JSON limit but within the upload limit: read and checked (its header is wrong), not refused for size.
    medium = {"file": ("customers.csv", b"a,b\n" + b"1,2\n" * 1_000, "text/csv")}
    response = client.post("/api/v1/models", files=medium, data={"k": "3"}, headers=ADMIN)
    assert response.status_code == 422
    assert "missing required column" in response.json()["message"]
    large = {"file": ("customers.csv", b"a,b\n" + b"1,2\n" * 6_000, "text/csv")}
    assert client.post("/api/v1/models", files=large, headers=ADMIN).status_code == 413
    # The other routes of the same router keep the JSON limit.
    rollback = client.post("/api/v1/models/rollback", content=b"x" * 4_000, headers=ADMIN)
    assert rollback.status_code == 413


def test_a_wrong_method_names_every_method_of_the_path(client):
    for path, allowed in [("/api/v1/models", "GET, POST"), ("/api/v1/models/some-version", "DELETE, GET, PATCH")]:
        response = client.put(path)
        assert response.status_code == 405
        assert response.headers["allow"] == allowed


def test_the_router_mounts_again_under_another_prefix(make_settings, fresh_dir):
    app = FastAPI()
    app.state.settings = settings = make_settings(model_dir=fresh_dir)
    app.state.rate_limiter = RateLimiter(settings)
    register_error_handlers(app)
    app.include_router(versions.build_router(upload_limit=1_000), prefix="/api/v1")
    app.include_router(versions.build_router(upload_limit=1_000), prefix="/api/v1/segmentations/{name}")
    paths = set(app.openapi()["paths"])
    assert {"/api/v1/models", "/api/v1/segmentations/{name}/models/{version}/activate"} <= paths
    with TestClient(app) as client:
        refused = client.post("/api/v1/segmentations/rfm/models/rollback")
    # The admin key is checked first under the new prefix too (none is configured: closed).
    assert refused.status_code == 403
