"""A form field sent twice is a 422 naming it on every route that takes a form, never answered with its last value."""

import pytest
from fastapi import params
from fastapi.routing import APIRoute

from app.controllers.admin_route import declares
from app.controllers.deps import one_value_per_field
from tests.api.test_route_roles import _leaves

KEY = "repeated-fields-admin-key"
ADMIN = {"X-API-Key": KEY}
CSV = b"annual_income,spending_score\n" + b"".join(f"{20 + i},{i % 90 + 5}\n".encode() for i in range(60))


@pytest.fixture
def api(client_for, fresh_dir, ended_trainers):
    return client_for(model_dir=fresh_dir, admin_api_keys=[KEY], train_max_upload_bytes=64 * 1024)


def _refused(response, field: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["type"] == "invalid_request"
    assert body["message"] == f"the form sends the field '{field}' more than once: send each field once"


@pytest.mark.parametrize("path", ["/api/v1/models", "/api/v1/segmentations/default/models"])
def test_training_refuses_a_repeated_field_and_starts_no_job(api, ended_trainers, path):
    files = {"file": ("customers.csv", CSV, "text/csv")}
    _refused(api.post(path, files=files, data={"activate": ["false", "true"]}, headers=ADMIN), "activate")
    _refused(api.post(path, files=files, data={"k": "3", "seed": ["1", "2"]}, headers=ADMIN), "seed")
    # Urlencoded, without a file, alike.
    _refused(api.post(path, data={"k": ["3", "4"]}, headers=ADMIN), "k")
    assert len(ended_trainers) == 0
    # Each field once still trains.
    assert api.post(path, files=files, data={"activate": "true"}, headers=ADMIN).status_code == 202
    assert len(ended_trainers) == 1


def test_the_upload_limit_and_the_admin_key_still_come_first(api, ended_trainers):
    big = {"file": ("big.csv", CSV * 200, "text/csv")}
    over = api.post("/api/v1/models", files=big, data={"activate": ["false", "true"]}, headers=ADMIN)
    assert over.status_code == 413 and over.json()["type"] == "body_too_large"
    keyless = api.post("/api/v1/models", files={"file": ("c.csv", CSV, "text/csv")}, data={"k": ["3", "4"]})
    assert keyless.status_code == 401
    assert len(ended_trainers) == 0


def test_the_token_form_and_a_scored_files_form_refuse_a_repeated_field(api):
    token = api.post("/api/v1/auth/token", data={"username": ["ada@example.com", "eve@example.com"], "password": "x"})
    _refused(token, "username")
    scored = api.post("/api/v1/predict/csv", files={"file": ("c.csv", CSV, "text/csv")}, data={"note": ["a", "b"]})
    _refused(scored, "note")
    twice = api.post("/api/v1/predict/csv", files=[("file", ("a.csv", CSV, "text/csv")), ("file", ("b.csv", CSV))])
    assert twice.status_code == 422


def _form_routes(app) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(method, path) of every route whose body is a form, and of every route that refuses repeated fields."""
    forms, refusing = set(), set()
    for route in _leaves(app.router.routes):
        original = getattr(route, "original_route", route)
        if not isinstance(original, APIRoute):
            continue
        found = {(method, route.path) for method in route.methods}
        if original.body_field is not None and isinstance(original.body_field.field_info, params.Form):
            forms |= found
        if declares(original.dependant, one_value_per_field):
            refusing |= found
    return forms, refusing


def test_every_route_whose_body_is_a_form_refuses_repeated_fields(api):
    forms, refusing = _form_routes(api.app)
    assert refusing == forms
    assert {("POST", "/api/v1/models"), ("POST", "/api/v1/auth/token"), ("POST", "/login"), ("POST", "/users")} <= forms


def test_a_field_the_route_does_not_read_may_come_twice(api, ended_trainers):
    # Ignored once, ignored twice: only the fields a route reads must come once (schemathesis sends such forms).
    response = api.post("/api/v1/models", data={"note": ["a", "b"], "seed": "7"}, headers=ADMIN)
    assert response.status_code == 202, response.text
    assert len(ended_trainers) == 1
