"""The single-predict shortcut (app/controllers/api/fast_predict.py) answers exactly what the routes answer."""

import json
import random

import pytest
from fastapi.testclient import TestClient

from app.controllers.api import fast_predict
from app.main import create_app

PREDICT = "/api/v1/predict"
BY_FEATURES = "/api/v1/segmentations/default/predict"
# Any query string sends the request through the route itself: the same request both ways.
THROUGH_ROUTE = "?explain=false"
KEY = "fast-predict-admin-key"
JSON = {"content-type": "application/json"}


@pytest.fixture
def shortcut_calls(monkeypatch) -> list[dict]:
    """The customers the shortcut scored itself (the routes score through other names)."""
    calls: list[dict] = []
    for name in ("predict_customer", "predict_by_features"):
        scored = getattr(fast_predict, name)

        def counted(model, customer, *, _scored=scored, **options):
            calls.append(customer)
            return _scored(model, customer, **options)

        monkeypatch.setattr(fast_predict, name, counted)
    return calls


def _value(rng: random.Random) -> object:
    if rng.random() < 0.75:
        return rng.choice([rng.randint(0, 140), round(rng.uniform(0, 200), rng.randint(0, 17))])
    return rng.choice([-1, 10_001, 0, 100, 1e-320, True, None, "50", [1], 2**64, "NaN"])


def _random_body(rng: random.Random, *, by_features: bool = False) -> bytes:
    customer: dict = {"annual_income": _value(rng), "spending_score": _value(rng)}
    if by_features:
        customer = {"features": customer}
        if rng.random() < 0.1:
            customer["features"]["tenure"] = 3
    if rng.random() < 0.4:
        customer["customer_id"] = rng.choice([7, "C-1", "a:b", "\u00e9", 2**53, 2**53 - 1, 12.0, 1.5, "x" * 65, False])
    if rng.random() < 0.1:
        customer["extra"] = 1
    text = json.dumps(customer, ensure_ascii=rng.random() < 0.5)
    if rng.random() < 0.15:
        text = text.replace('"spending_score": ', '"spending_score": 5, "spending_score": ')
    if rng.random() < 0.05:
        text = text.replace("{", '{"features": {}, ', 1) if by_features else text
    if rng.random() < 0.1:
        text = text.replace('"NaN"', "NaN")
    return text.encode()


def _without_request_id(response) -> tuple[int, object]:
    body = response.json()
    if isinstance(body, dict):
        body.pop("request_id", None)
    return response.status_code, body


def _compare(client, path: str, raws: list[bytes]) -> None:
    for raw in raws:
        fast = client.post(path, content=raw, headers=JSON)
        routed = client.post(path + THROUGH_ROUTE, content=raw, headers=JSON)
        assert _without_request_id(fast) == _without_request_id(routed), raw
        if fast.status_code == 200:
            assert fast.content == routed.content, raw  # byte for byte
            assert fast.headers["content-type"] == routed.headers["content-type"]


@pytest.mark.parametrize("path", [PREDICT, BY_FEATURES])
def test_the_shortcut_and_the_route_answer_alike(client_for, shortcut_calls, path):
    client = client_for(rate_limit_predict="100000/minute")
    rng = random.Random(29)
    _compare(client, path, [_random_body(rng, by_features=path == BY_FEATURES) for _ in range(300)])
    assert len(shortcut_calls) > 60  # the valid bodies (about a quarter here) took the shortcut


def test_with_a_challenger_the_shortcut_picks_the_same_arm_and_logs_as_the_route(client_for, two_versions, tmp_path,
                                                                                  shortcut_calls):  # fmt: skip
    root, _, second = two_versions
    client = client_for(model_dir=root, admin_api_keys=[KEY], rate_limit_predict="100000/minute")
    body = {"version": second, "mode": "split", "share": 0.5}
    assert client.put("/api/v1/challenger", json=body, headers={"X-API-Key": KEY}).status_code == 200
    raws = [
        json.dumps({"customer_id": f"C-{i}", "annual_income": 3 * i, "spending_score": 50}).encode() for i in range(40)
    ]
    _compare(client, PREDICT, raws)
    arms = {client.post(PREDICT, content=raw, headers=JSON).json()["arm"] for raw in raws}
    assert arms == {"champion", "challenger"}
    assert len(shortcut_calls) >= 40


def test_a_plain_request_takes_the_shortcut_and_anything_else_the_route(client, shortcut_calls):
    body = {"annual_income": 60, "spending_score": 50}
    assert client.post(PREDICT, json=body).status_code == 200
    assert len(shortcut_calls) == 1
    assert client.post(PREDICT + THROUGH_ROUTE, json=body).status_code == 200
    assert client.post(PREDICT, content=b'{"annual_income": 60, "spending_score": 50}', headers={}).status_code == 415
    duplicated = b'{"annual_income": 60, "annual_income": 60, "spending_score": 50}'
    assert client.post(PREDICT, content=duplicated, headers=JSON).status_code == 400
    assert len(shortcut_calls) == 1


@pytest.mark.parametrize(
    ("path", "label", "body"),
    [
        (PREDICT, PREDICT, {"annual_income": 60, "spending_score": 50}),
        (BY_FEATURES, "/api/v1/segmentations/{segmentation}/predict", {"features": {"annual_income": 60,
                                                                                   "spending_score": 50}}),
    ],
)  # fmt: skip
def test_a_shortcut_answer_is_reported_under_the_route(make_settings, shortcut_calls, path, label, body):
    # /metrics answers loopback peers.
    with TestClient(create_app(make_settings()), client=("127.0.0.1", 50000)) as client:

        def count() -> float:
            wanted = ("http_requests_total{", f'route="{label}"', 'method="POST"', 'status="200"')
            text = client.get("/metrics").text
            line = next((line for line in text.splitlines() if all(part in line for part in wanted)), None)
            return float(line.rsplit(" ", 1)[1]) if line else 0.0

        before = count()
        response = client.post(path, json=body)
        assert response.status_code == 200 and response.headers["x-request-id"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert count() == before + 1
        assert len(shortcut_calls) == 1
        assert client.post(path + THROUGH_ROUTE, json=body).status_code == 200
        assert count() == before + 2  # the route's answer counts in the same series
        assert len(shortcut_calls) == 1


def test_the_shortcut_counts_the_prediction_limit_and_refuses_as_the_route(client_for, shortcut_calls):
    client = client_for(rate_limit_predict="2/minute")
    body = {"annual_income": 60, "spending_score": 50}
    assert [client.post(PREDICT, json=body).status_code for _ in range(2)] == [200, 200]
    refused = client.post(PREDICT, json=body)
    assert refused.status_code == 429
    assert refused.json()["type"] == "rate_limited" and int(refused.headers["retry-after"]) > 0
    assert len(shortcut_calls) == 2  # the third is refused before it is scored, as the route does
    assert client.post(PREDICT + THROUGH_ROUTE, json=body).status_code == 429  # the route agrees: the limit is spent
