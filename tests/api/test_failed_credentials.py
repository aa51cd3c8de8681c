"""Failed credentials per client address: a guesser is limited, a valid credential from the same address never is,
and a valid one whose role is too low is no failure at all."""

import pytest

from tests.accounts import JWT_SECRET, add_user, bearer

SERVICE_KEY = "failed-credentials-admin-key"
ALLOWANCE = 3
CLUSTERS = "/api/v1/clusters"


@pytest.fixture
def accounts(client_for, fresh_dir, tmp_path):
    """A client with token login, an ADMIN_API_KEYS key, a viewer and an admin, and a small allowance of failures."""
    client = client_for(
        model_dir=fresh_dir,
        database_url=f"sqlite:///{tmp_path / 'accounts.sqlite3'}",
        jwt_secret=JWT_SECRET,
        admin_api_keys=[SERVICE_KEY],
        rate_limit_admin=f"{ALLOWANCE}/minute",
    )
    add_user(client.app, "vic@example.com", "viewer")
    add_user(client.app, "ada@example.com", "admin")
    return client


def _personal_key(client, headers: dict[str, str], role: str) -> str:
    response = client.post("/api/v1/auth/keys", json={"name": "export", "role": role}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["key"]


def test_wrong_keys_on_a_read_route_never_lock_out_credentials_the_server_issued(accounts):
    viewer = bearer(accounts, "vic@example.com")
    viewer_key = _personal_key(accounts, viewer, "viewer")
    for _ in range(ALLOWANCE):
        assert accounts.get(CLUSTERS, headers={"X-API-Key": "wrong-wrong-wrong-wrong"}).status_code == 403
    # The guesser is limited: wrong keys and unknown personal keys alike.
    limited = accounts.get(CLUSTERS, headers={"X-API-Key": "wrong-wrong-wrong-wrong"})
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    assert accounts.get(CLUSTERS, headers={"X-API-Key": "csk_not-a-key-of-anyone"}).status_code == 429
    # Credentials the server issued, from the same address, are not: they are random beyond guessing.
    assert accounts.get(CLUSTERS, headers=viewer).status_code == 200
    assert accounts.get(CLUSTERS, headers={"X-API-Key": viewer_key}).status_code == 200
    assert accounts.get(CLUSTERS).status_code == 200
    # A key the operator chose could be what the guesses were after: past the allowance, a right one is 429 too.
    for path in (CLUSTERS, "/api/v1/jobs"):
        assert accounts.get(path, headers={"X-API-Key": SERVICE_KEY}).status_code == 429


def test_a_viewer_refused_by_admin_and_analyst_routes_spends_no_allowance(accounts):
    viewer = bearer(accounts, "vic@example.com")
    viewer_key = _personal_key(accounts, viewer, "viewer")
    refusals = [
        lambda: accounts.get("/api/v1/jobs", headers=viewer),
        lambda: accounts.patch("/api/v1/clusters/0", json={"description": "Edited"}, headers=viewer),
        lambda: accounts.post("/api/v1/outcomes", json={"events": []}, headers=viewer),
        lambda: accounts.post("/audit", data={"key": viewer_key}),
    ]
    for refuse in refusals:
        for _ in range(ALLOWANCE + 1):
            assert refuse().status_code == 403
    assert accounts.get(CLUSTERS, headers=viewer).status_code == 200
    # The address's allowance is whole: a wrong key is still told it is wrong.
    assert accounts.get(CLUSTERS, headers={"X-API-Key": "wrong-wrong-wrong-wrong"}).status_code == 403
