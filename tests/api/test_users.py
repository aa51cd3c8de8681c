"""Users by API: the last active admin cannot be demoted or disabled, by themselves or by anyone else (409)."""

import pytest

from tests.accounts import JWT_SECRET, add_user, bearer

SERVICE_KEY = "service-admin-key-users"


@pytest.fixture
def accounts(client_for, fresh_dir, tmp_path):
    client = client_for(
        model_dir=fresh_dir,
        database_url=f"sqlite:///{tmp_path / 'users.sqlite3'}",
        jwt_secret=JWT_SECRET,
        admin_api_keys=[SERVICE_KEY],
    )
    ada = add_user(client.app, "ada@example.com", "admin")
    return client, ada


@pytest.mark.parametrize("change", [{"role": "analyst"}, {"role": "viewer"}, {"disabled": True}])
def test_the_last_admin_cannot_demote_or_disable_themselves(accounts, change):
    client, ada = accounts
    response = client.patch(f"/api/v1/users/{ada}", json=change, headers=bearer(client, "ada@example.com"))
    assert response.status_code == 409
    assert response.json()["type"] == "last_admin" and "last active admin" in response.json()["message"]
    # Nor through a service key: the rule is the users service's, whoever calls it.
    by_key = client.patch(f"/api/v1/users/{ada}", json=change, headers={"X-API-Key": SERVICE_KEY})
    assert by_key.status_code == 409
    listed = client.get("/api/v1/users", headers={"X-API-Key": SERVICE_KEY}).json()["users"]
    assert [(u["role"], u["disabled"]) for u in listed] == [("admin", False)]


def test_with_a_second_admin_the_first_may_step_down(accounts):
    client, ada = accounts
    add_user(client.app, "bob@example.com", "admin")
    response = client.patch(f"/api/v1/users/{ada}", json={"role": "analyst"}, headers=bearer(client, "ada@example.com"))
    assert response.status_code == 200 and response.json()["role"] == "analyst"
