"""/api/v1/model/info: public facts for everyone, the scikit-learn version only for a caller with an admin key."""

import pytest

from app.schemas.model_info import ModelInfo

ADMIN_KEY = "model-info-admin-key"


@pytest.fixture
def admin_client(client_for):
    """A client of an app with an admin key configured and a small allowance of failed keys."""
    return client_for(admin_api_keys=ADMIN_KEY, rate_limit_admin="2/minute")


def test_model_info_without_a_key_leaves_the_sklearn_version_out(admin_client, model):
    response = admin_client.get("/api/v1/model/info")
    assert response.status_code == 200
    body = response.json()
    assert body["sklearn_version"] is None
    assert f'"{model.info["sklearn_version"]}"' not in response.text
    ModelInfo.model_validate(body)


def test_model_info_with_an_admin_key_gives_the_sklearn_version(admin_client, model):
    response = admin_client.get("/api/v1/model/info", headers={"X-API-Key": ADMIN_KEY})
    assert response.status_code == 200
    body = response.json()
    assert body["sklearn_version"] == model.info["sklearn_version"]
    ModelInfo.model_validate(body)


def test_model_info_counts_wrong_keys_like_any_admin_route(admin_client):
    for guess in ("guess-1", "guess-2"):
        response = admin_client.get("/api/v1/model/info", headers={"X-API-Key": guess})
        assert response.status_code == 403
        assert "sklearn_version" not in response.text
    assert admin_client.get("/api/v1/model/info", headers={"X-API-Key": "guess-3"}).status_code == 429
    # The operator's right key is refused like the guesses once they are spent; the public answer stays open.
    assert admin_client.get("/api/v1/model/info", headers={"X-API-Key": ADMIN_KEY}).status_code == 429
    assert admin_client.get("/api/v1/model/info").status_code == 200


def test_openapi_documents_the_key_and_the_sklearn_version_as_optional(admin_client):
    document = admin_client.get("/openapi.json").json()
    # No requirement ({}) or the admin key: the key is optional.
    assert document["paths"]["/api/v1/model/info"]["get"]["security"] == [{"AdminKey": []}, {}, {"OAuth2": ["read"]}]
    schema = document["components"]["schemas"]["ModelInfo"]
    assert "sklearn_version" not in schema.get("required", [])
    assert "admin key" in schema["properties"]["sklearn_version"]["description"]
