"""A bad ACTIVE pointer while serving: the last verified model answers, /readyz says degraded, the gauge is 1."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.models.test_registry import _bad_pointer, _write_pointer

KEY = "fallback-admin-key"
CUSTOMER = {"annual_income": 120, "spending_score": 90}


def _fallback_gauge(client) -> float:
    response = client.get("/metrics", headers={"X-API-Key": KEY})
    assert response.status_code == 200
    (value,) = [
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "model_serving_fallback"
    ]
    return value


@pytest.mark.parametrize("kind", ["traversing", "tampered", "unknown"])
def test_bad_pointer_serves_the_last_verified_model_and_reports_degraded(client_for, two_versions, kind):
    root, first, second = two_versions
    client = client_for(model_dir=root, admin_api_keys=[KEY])
    registry = client.app.state.registry
    assert _fallback_gauge(client) == 0

    words = _bad_pointer(root, second, kind)
    registry.refresh()  # what the poller does every MODEL_POLL_SECONDS
    ready = client.get("/readyz")
    predict = client.post("/api/v1/predict", json=CUSTOMER)
    health = client.get("/api/v1/health")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready" and ready.json()["model_version"] == first
    assert words in ready.json()["details"]["degraded"]
    assert predict.status_code == 200
    assert predict.json()["model_version"] == first
    assert health.status_code == 200
    assert health.json()["degraded"] == ready.json()["details"]["degraded"]
    assert _fallback_gauge(client) == 1

    if kind == "tampered":
        _write_pointer(root, f"{first}\n")
    else:
        _write_pointer(root, f"{second}\n")
    registry.refresh()
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert "details" not in ready.json()
    assert client.get("/api/v1/health").json()["degraded"] is None
    assert _fallback_gauge(client) == 0


def test_bad_pointer_at_start_up_is_503_with_the_reason(client_for, two_versions):
    root, _, second = two_versions
    _bad_pointer(root, second, "traversing")
    client = client_for(model_dir=root)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"
    assert "'../../etc' is not on disk" in response.json()["reason"]
    assert client.post("/api/v1/predict", json=CUSTOMER).status_code == 503
