"""A credential header sent twice with different values: refused with a 400, never one of two identities picked."""

import pytest

from tests.accounts import JWT_SECRET, add_user, bearer

SERVICE_KEY = "edges-admin-key-0123456789abcdef"
CUSTOMER = {"annual_income": 50, "spending_score": 50}


@pytest.fixture
def accounts(client_for, tmp_path):
    client = client_for(
        database_url=f"sqlite:///{tmp_path / 'edges.sqlite3'}", jwt_secret=JWT_SECRET, admin_api_keys=[SERVICE_KEY]
    )
    add_user(client.app, "ada@example.com", "admin")
    return client


@pytest.mark.parametrize(
    "headers",
    [
        [("X-API-Key", SERVICE_KEY), ("X-API-Key", "another-key-0123456789")],
        [("Authorization", "Bearer one"), ("Authorization", "Bearer two")],
    ],
)
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("POST", "/api/v1/predict", CUSTOMER), ("GET", "/api/v1/jobs", None), ("GET", "/metrics", None)],
)
def test_a_credential_header_sent_twice_is_a_400(accounts, headers, method, path, body):
    response = accounts.request(method, path, headers=headers, json=body)

    assert response.status_code == 400, response.text
    assert response.json()["type"] == "repeated_credential"
    name = headers[0][0]
    assert response.json()["message"] == f"the request sends the {name} header more than once, with different values"


def test_the_same_key_sent_twice_is_one_identity(accounts):
    # A client and a proxy both adding the same key: nothing to choose between.
    twice = [("X-API-Key", SERVICE_KEY), ("X-API-Key", SERVICE_KEY)]
    assert accounts.get("/api/v1/jobs", headers=twice).status_code == 200
    assert accounts.get("/metrics", headers=twice).status_code == 200


def test_one_credential_header_still_works(accounts):
    assert accounts.get("/api/v1/jobs", headers={"X-API-Key": SERVICE_KEY}).status_code == 200
    assert accounts.get("/api/v1/jobs", headers=bearer(accounts, "ada@example.com")).status_code == 200
