"""A key that is no key of this server: the 403 says what the route it was sent to takes, not always an admin key."""

import pytest

from tests.runs_files import customers_csv

ADMIN_KEY = "wrong-key-admin-key-0123456789"
WRONG = {"X-API-Key": "no-such-key-0123456789"}
CSV = customers_csv(range(5))

ANY_ROLE = "this endpoint takes a key of any role"
ANALYST = "this endpoint takes a key of the analyst role or above"
OPEN = "or send no key: PUBLIC_READS lets anyone call it"
ADMIN = "does not hold an admin key"

# (method, path, request keyword arguments, what the message says the route takes)
ROUTES = [
    ("get", "/api/v1/clusters/info", {}, ANY_ROLE),
    ("get", "/api/v1/model/info", {}, ANY_ROLE),
    ("get", "/api/v1/runs", {}, ANY_ROLE),
    ("post", "/api/v1/predict", {"json": {"annual_income": 50, "spending_score": 50}}, ANY_ROLE),
    (
        "post",
        "/api/v1/segmentations/default/predict",
        {"json": {"features": {"annual_income": 50, "spending_score": 50}}},
        ANY_ROLE,
    ),
    ("post", "/api/v1/predict/csv", {"content": CSV, "headers": {"content-type": "text/csv"}}, ANALYST),
    ("get", "/api/v1/auth/keys", {}, ANY_ROLE),
    ("patch", "/api/v1/clusters/0", {"json": {"name": "New name"}}, ANALYST),
    ("post", "/api/v1/models", {}, ADMIN),
    ("delete", "/api/v1/runs/" + "0" * 32, {}, ADMIN),
]


@pytest.fixture
def client(client_for, tmp_path):
    return client_for(admin_api_keys=[ADMIN_KEY], database_url=f"sqlite:///{tmp_path / 'keys.sqlite3'}")


@pytest.mark.parametrize(("method", "path", "kwargs", "takes"), ROUTES)
def test_a_wrong_key_is_told_what_the_route_takes(client, method, path, kwargs, takes):
    headers = {**kwargs.pop("headers", {}), **WRONG}
    response = (
        getattr(client, method)(path, headers=headers, **kwargs)
        if method != "delete" and method != "get"
        else getattr(client, method)(path, headers=headers)
    )
    print(response.json())
    assert response.status_code == 403, response.text
    assert response.json()["type"] == "admin_key_refused"
    assert takes in response.json()["message"]


def _refused(client, method: str, path: str, **kwargs) -> str:
    response = client.request(method.upper(), path, headers={**kwargs.pop("headers", {}), **WRONG}, **kwargs)
    assert response.status_code == 403, response.text
    assert response.json()["type"] == "admin_key_refused"
    return response.json()["message"]


def test_only_routes_anyone_may_call_say_that_no_key_will_do(client, client_for, tmp_path):
    assert OPEN in _refused(client, "post", "/api/v1/predict", json={"annual_income": 50, "spending_score": 50})
    assert OPEN not in _refused(client, "patch", "/api/v1/clusters/0", json={"name": "New name"})
    closed = client_for(
        admin_api_keys=[ADMIN_KEY], public_reads=False, database_url=f"sqlite:///{tmp_path / 'closed.sqlite3'}"
    )
    message = _refused(closed, "get", "/api/v1/clusters/info")
    assert ANY_ROLE in message and OPEN not in message


def test_without_admin_keys_a_wrong_key_on_a_read_route_is_not_told_admin_endpoints_are_off(client_for, tmp_path):
    client = client_for(database_url=f"sqlite:///{tmp_path / 'none.sqlite3'}")
    message = _refused(client, "post", "/api/v1/predict", json={"annual_income": 50, "spending_score": 50})
    assert ANY_ROLE in message and "admin endpoints are disabled" not in message
    assert "no admin keys are configured" in message
    assert "admin endpoints are disabled" in _refused(client, "post", "/api/v1/models")


@pytest.mark.parametrize("path", ["/", "/score", "/runs"])
def test_a_page_sent_a_wrong_key_says_any_role_will_do(client, path):
    response = client.get(path, headers=WRONG)

    assert response.status_code == 403
    assert ANY_ROLE in response.text and ADMIN not in response.text
