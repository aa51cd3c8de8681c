"""The upload routes' OpenAPI bodies say what the service accepts: no empty file, and the training form's k and
features as the training service reads them (schemathesis holds the routes to it, in test_schemathesis.py)."""

import re

import pytest

from app.controllers.api.versions import FEATURES_PATTERN, K_PATTERN
from app.core.errors import InvalidRequest
from app.services.training.launch import parse_features, parse_k


def _training_form(spec: dict) -> dict:
    ref = spec["paths"]["/api/v1/models"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_openapi_declares_upload_bodies_that_are_not_empty(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    scoring = spec["paths"]["/api/v1/predict/csv"]["post"]["requestBody"]["content"]
    assert scoring["text/csv"]["schema"]["minLength"] == 1
    form = scoring["multipart/form-data"]["schema"]
    assert form["required"] == ["file"] and form["properties"]["file"]["minLength"] == 1
    training = _training_form(spec)
    assert training["properties"]["file"]["minLength"] == 1
    assert "file" not in training.get("required", [])  # no file: the bundled data is trained on
    assert training["properties"]["k"]["pattern"] == K_PATTERN
    assert training["properties"]["features"]["pattern"] == FEATURES_PATTERN


def _accepted(parse, value: str) -> bool:
    try:
        parse(value)
    except InvalidRequest:
        return False
    return True


@pytest.mark.parametrize("k", ["5", "auto", "AuTo", " 10\n", "010", "", "1", "11", "100", "1_0", "\u0665", "+5", " "])
def test_k_pattern_accepts_what_training_accepts(k):
    # The route reads an empty k as the default.
    assert (re.search(K_PATTERN, k) is not None) == _accepted(parse_k, k or "5")


@pytest.mark.parametrize(
    "features",
    ["annual_income,spending_score", "age", " age, spending_score ,", "age age", "age,,income", "height", "", ","],
)
def test_features_pattern_accepts_what_training_accepts(features):
    assert (re.search(FEATURES_PATTERN, features) is not None) == _accepted(parse_features, features)
