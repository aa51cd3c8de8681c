"""Rate limits while Redis cannot be reached (a closed port), in process: predictions fail open behind an open
circuit that /metrics shows, and failed admin keys fail closed."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from tests.live_server import free_port

CUSTOMER = {"annual_income": 55, "spending_score": 50}
ADMIN_KEY = "outage-admin-key"
UNKNOWN_VERSION = "/api/v1/models/20000101.000000-none"


@pytest.fixture
def unreachable_redis(make_settings) -> Iterator[TestClient]:
    """A client of an app whose rate-limit storage is a Redis URL nothing listens on."""
    settings = make_settings(
        rate_limit_storage=f"redis://127.0.0.1:{free_port()}/0",
        rate_limit_predict="1/minute",
        rate_limit_admin="2/minute",
        rate_limit_circuit_failures=3,
        admin_api_keys=ADMIN_KEY,
    )
    with TestClient(create_app(settings), client=("203.0.113.9", 40_000)) as client:
        yield client


def circuit_gauge(client: TestClient) -> float:
    """rate_limit_storage_circuit_open as /metrics shows it (read with the admin key: the client is not local)."""
    response = client.get("/metrics", headers={"X-API-Key": ADMIN_KEY})
    assert response.status_code == 200, response.text
    [value] = [
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "rate_limit_storage_circuit_open"
    ]
    return value


def test_predict_fails_open_and_metrics_show_the_circuit_open(unreachable_redis, caplog):
    client = unreachable_redis
    assert circuit_gauge(client) == 0  # not yet open: a right key's check is one failure so far
    for _ in range(5):
        assert client.post("/api/v1/predict", json=CUSTOMER).status_code == 200
    assert circuit_gauge(client) == 1
    assert sum("circuit open" in record.getMessage() for record in caplog.records) == 1


def test_wrong_admin_keys_are_refused_in_process_while_redis_is_unreachable(unreachable_redis):
    client = unreachable_redis
    assert client.delete(UNKNOWN_VERSION, headers={"X-API-Key": "guess-1"}).status_code == 403
    assert client.delete(UNKNOWN_VERSION, headers={"X-API-Key": "guess-2"}).status_code == 403
    limited = client.delete(UNKNOWN_VERSION, headers={"X-API-Key": "guess-3"})
    assert limited.status_code == 429
    assert limited.json()["type"] == "rate_limited" and "Retry-After" in limited.headers
    # The operator's right key is refused like the guesses once they are spent, Redis or not.
    assert client.delete(UNKNOWN_VERSION, headers={"X-API-Key": ADMIN_KEY}).status_code == 429
    assert client.delete(UNKNOWN_VERSION, headers={"X-API-Key": "guess-4"}).status_code == 429
