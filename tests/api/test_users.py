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


@pytest.mark.parametrize("change", [{}, {"role": None}, {"role": None, "disabled": None}])
def test_a_patch_that_changes_nothing_is_a_422_and_not_audited(accounts, change):
    client, ada = accounts
    response = client.patch(f"/api/v1/users/{ada}", json=change, headers={"X-API-Key": SERVICE_KEY})
    assert response.status_code == 422
    assert "nothing to change: send role, disabled or both" in response.json()["message"]
    trail = client.get("/api/v1/audit?action=user.update", headers={"X-API-Key": SERVICE_KEY}).json()["events"]
    assert trail == []


def test_with_a_second_admin_the_first_may_step_down(accounts):
    client, ada = accounts
    add_user(client.app, "bob@example.com", "admin")
    response = client.patch(f"/api/v1/users/{ada}", json={"role": "analyst"}, headers=bearer(client, "ada@example.com"))
    assert response.status_code == 200 and response.json()["role"] == "analyst"


@pytest.mark.parametrize(
    "email",
    [
        "x@example.com\nBcc:y",
        "x@example.com\tfoo",
        "x@exam ple.com",
        "a\u200b@example.com",
        "a\u00a0b@example.com",
        "ADM\u0130N@example.com",
        "\u0430dmin@example.com",
    ],
)
def test_an_email_with_control_invisible_or_non_ascii_characters_is_refused(accounts, email):
    client, _ = accounts
    body = {"email": email, "password": "a long password", "role": "admin"}
    response = client.post("/api/v1/users", json=body, headers={"X-API-Key": SERVICE_KEY})
    assert response.status_code == 422, response.text
    assert "email" in response.text and ("character" in response.text or "ASCII" in response.text)
    listed = client.get("/api/v1/users", headers={"X-API-Key": SERVICE_KEY}).json()["users"]
    assert [user["email"] for user in listed] == ["ada@example.com"]


def test_a_plain_ascii_email_is_kept_lower_cased(accounts):
    client, _ = accounts
    body = {"email": "Ana.B+tag@Example.co.uk", "password": "a long password"}
    response = client.post("/api/v1/users", json=body, headers={"X-API-Key": SERVICE_KEY})
    assert response.status_code == 201 and response.json()["email"] == "ana.b+tag@example.co.uk"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("An\x00a", "U+0000"),  # PostgreSQL cannot store a NUL: it was a 500 there
        ("Ana\nadmin: yes", "U+000A"),  # a second line in the audit trail, emails and pages
        ("\u202eanA", "U+202E"),  # a bidi override shows the name reversed
    ],
)
def test_a_display_name_that_is_not_one_line_of_visible_text_is_refused(accounts, name, code):
    client, _ = accounts
    body = {"email": "nul@example.com", "password": "a long password", "display_name": name}
    response = client.post("/api/v1/users", json=body, headers={"X-API-Key": SERVICE_KEY})
    assert response.status_code == 422
    assert "display_name" in response.text and code in response.text
