"""Liveness, readiness, /metrics (content and access) and rate limits, in process."""

import shutil
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from tests.live_server import free_port
from tests.tools import promtool_check

LOCAL = ("127.0.0.1", 50_000)


@pytest.fixture
def ops_client(make_settings) -> Iterator[Callable[..., TestClient]]:
    """Build a client for settings overrides, connecting from `peer` (loopback by default)."""
    opened: list[TestClient] = []

    def build(peer: tuple[str, int] = LOCAL, app: FastAPI | None = None, **overrides) -> TestClient:
        client = TestClient(app or create_app(make_settings(**overrides)), client=peer)
        client.__enter__()
        opened.append(client)
        return client

    yield build
    for client in opened:
        client.__exit__(None, None, None)


def samples(client: TestClient) -> dict[tuple[str, frozenset], float]:
    """Every sample of /metrics keyed by (name, labels)."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(metrics: dict, name: str, **labels: str) -> float:
    """One sample's value, 0 when it does not exist yet."""
    return metrics.get((name, frozenset(labels.items())), 0.0)


def test_livez_answers_without_a_model(ops_client, tmp_path):
    client = ops_client(model_dir=tmp_path / "missing")
    response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


def test_readyz_is_ready_with_a_verified_model(ops_client, model):
    response = ops_client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "model_version": model.version, "reason": None}


def test_readyz_is_503_with_the_reason_without_a_model(ops_client, tmp_path):
    response = ops_client(model_dir=tmp_path / "missing").get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["model_version"] is None
    assert "no model version is active" in body["reason"]


def test_readyz_is_503_draining_once_the_server_stops_while_livez_and_predictions_go_on(ops_client, model):
    client = ops_client()
    client.app.state.drain.started = True  # what SIGTERM does (app/core/draining.py)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "not_ready",
        "model_version": model.version,
        "reason": "draining: the server is shutting down and takes no new traffic",
    }
    assert client.head("/readyz").status_code == 503
    assert client.get("/livez").status_code == 200
    assert client.post("/api/v1/predict", json={"annual_income": 120, "spending_score": 90}).status_code == 200


def test_readyz_is_503_for_a_tampered_model(ops_client, model_dir, tmp_path):
    tampered = tmp_path / "tampered"
    shutil.copytree(model_dir, tampered)
    version = (tampered / "ACTIVE").read_text().strip()
    with (tampered / version / "kmeans_model.pkl").open("ab") as handle:
        handle.write(b"tampered")
    client = ops_client(model_dir=tampered)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "kmeans_model.pkl" in response.json()["reason"]
    assert client.get("/livez").status_code == 200
    assert client.post("/api/v1/predict", json={"annual_income": 120, "spending_score": 90}).status_code == 503


def test_probes_and_metrics_answer_head_like_get(ops_client, tmp_path):
    client = ops_client()
    for path in ("/livez", "/readyz", "/metrics"):
        response = client.head(path)
        assert response.status_code == 200, path
    assert ops_client(model_dir=tmp_path / "missing").head("/readyz").status_code == 503
    assert ops_client(peer=("203.0.113.9", 40_000)).head("/metrics").status_code == 403
    assert 'method="HEAD",route="/livez"' in client.get("/metrics").text


def test_metrics_count_predictions_by_segment_and_source(ops_client):
    client = ops_client()
    before = samples(client)
    for _ in range(3):
        assert client.post("/api/v1/predict", json={"annual_income": 120, "spending_score": 90}).status_code == 200
    batch = {
        "customers": [{"annual_income": 20, "spending_score": 10}] * 4 + [{"annual_income": 120, "spending_score": 90}]
    }
    assert client.post("/api/v1/predict/batch", json=batch).status_code == 200
    after = samples(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("segment_predictions_total", segmentation="default", segment="VIP / Whale", source="single") == 3
    assert moved("segment_predictions_total", segmentation="default", segment="VIP / Whale", source="batch") == 1
    assert moved("segment_predictions_total", segmentation="default", segment="Budget Conscious", source="batch") == 4
    assert moved("scored_customers_per_request_count", segmentation="default", source="batch") == 1
    assert moved("scored_customers_per_request_sum", segmentation="default", source="batch") == 5
    assert moved("http_requests_total", method="POST", route="/api/v1/predict", status="200") == 3


def test_metrics_count_atypical_customers_and_out_of_range_values(ops_client):
    client = ops_client()
    before = samples(client)
    # Drifting sideways from what VIPs stand for is atypical (see test_predict_flags_atypical_customers).
    sideways = client.post("/api/v1/predict", json={"annual_income": 87, "spending_score": 60}).json()
    far = {"annual_income": 5_000, "spending_score": 99}
    single = client.post("/api/v1/predict", json=far).json()
    batch = client.post("/api/v1/predict/batch", json={"customers": [far, far, far]}).json()["predictions"]
    after = samples(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert sideways["is_atypical"] and single["out_of_range"]
    # The counters agree with the flags the answers carried.
    assert (
        moved("atypical_predictions_total", segmentation="default", source="single")
        == sideways["is_atypical"] + single["is_atypical"]
    )
    assert moved("atypical_predictions_total", segmentation="default", source="batch") == sum(
        p["is_atypical"] for p in batch
    )
    assert moved("out_of_range_values_total", segmentation="default", feature="annual_income", source="single") == 1
    assert moved("out_of_range_values_total", segmentation="default", feature="annual_income", source="batch") == 3
    assert moved("out_of_range_values_total", segmentation="default", feature="spending_score", source="batch") == 0


def test_metrics_put_unknown_methods_under_one_label(ops_client):
    client = ops_client()
    client.request("FROBNICATE1", "/api/v1/predict")
    client.request("FROBNICATE2", "/api/v1/predict")
    text = client.get("/metrics").text
    assert "FROBNICATE" not in text
    assert 'method="other"' in text


def test_metrics_label_requests_by_route_template_never_raw_path(ops_client):
    client = ops_client()
    for segment_id in (1, 2, 3):
        assert client.get(f"/api/v1/clusters/{segment_id}").status_code == 200
    client.get("/no/such/page/12345")
    assert client.get("/static/css/app.css").status_code == 200
    text = client.get("/metrics").text
    assert 'route="/static",status="200"' in text
    assert "app.css" not in text
    assert 'route="/api/v1/clusters/{segment_id}"' in text
    assert "/api/v1/clusters/2" not in text
    # The raw path never shows as a label (a bare "12345" can appear inside a float, e.g. a start time).
    assert "/no/such/page" not in text and 'route="/no/' not in text
    assert 'route="unmatched"' in text


def test_metrics_show_the_active_model_and_its_load_time(ops_client, model):
    metrics = samples(ops_client())
    assert value(metrics, "model_active_info", segmentation="default", version=model.version) == 1
    assert value(metrics, "model_load_seconds", segmentation="default") > 0


def test_metrics_refuse_other_networks_without_a_key(ops_client):
    response = ops_client(peer=("203.0.113.9", 40_000)).get("/metrics")
    assert response.status_code == 403
    assert response.json()["type"] == "forbidden"
    assert set(response.json()) == {"type", "message", "details", "request_id"}


def test_metrics_serve_a_configured_network(ops_client):
    client = ops_client(peer=("10.1.2.3", 40_000), metrics_allowed_networks="10.0.0.0/8")
    assert client.get("/metrics").status_code == 200
    assert ops_client(metrics_allowed_networks="10.0.0.0/8").get("/metrics").status_code == 403


def test_metrics_serve_an_admin_key_from_anywhere(ops_client):
    client = ops_client(peer=("203.0.113.9", 40_000), admin_api_keys="s3cret-admin-key-0123,other-admin-key-0123")
    assert client.get("/metrics", headers={"X-API-Key": "other-admin-key-0123"}).status_code == 200
    assert client.get("/metrics", headers={"X-API-Key": "wrong"}).status_code == 403
    assert client.get("/metrics", headers={"X-API-Key": ""}).status_code == 403


def test_metrics_pass_promtool_check(ops_client):
    client = ops_client()
    client.post("/api/v1/predict", json={"annual_income": 120, "spending_score": 90})
    client.post("/api/v1/predict/batch", json={"customers": [{"annual_income": 20, "spending_score": 10}]})
    text = client.get("/metrics").text
    result = promtool_check(text)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == ""


def test_rate_limit_answers_429_with_retry_after(ops_client):
    client = ops_client(rate_limit_predict="2/minute")
    customer = {"annual_income": 55, "spending_score": 50}
    before = value(samples(client), "rate_limited_requests_total", limit="predict")
    assert client.post("/api/v1/predict", json=customer).status_code == 200
    assert client.post("/api/v1/predict/batch", json={"customers": [customer]}).status_code == 200
    response = client.post("/api/v1/predict", json=customer)
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    body = response.json()
    assert body["type"] == "rate_limited"
    assert set(body) == {"type", "message", "details", "request_id"}
    assert "2 per 1 minute" in body["message"]
    assert value(samples(client), "rate_limited_requests_total", limit="predict") == before + 1


def test_rate_limit_leaves_pages_health_and_probes_alone(ops_client):
    client = ops_client(rate_limit_predict="1/minute")
    assert client.post("/api/v1/predict", json={"annual_income": 55, "spending_score": 50}).status_code == 200
    assert client.post("/api/v1/predict", json={"annual_income": 55, "spending_score": 50}).status_code == 429
    for path in ("/", "/about", "/api/v1/health", "/livez", "/readyz", "/api/v1/clusters", "/metrics"):
        for _ in range(3):
            assert client.get(path).status_code == 200, path


def test_rate_limit_counts_each_client_address_behind_a_trusted_proxy(ops_client):
    customer = {"annual_income": 55, "spending_score": 50}
    untrusted = ops_client(rate_limit_predict="1/minute")
    assert (
        untrusted.post("/api/v1/predict", json=customer, headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 200
    )
    spoofed = untrusted.post("/api/v1/predict", json=customer, headers={"X-Forwarded-For": "198.51.100.2"})
    assert spoofed.status_code == 429

    trusted = ops_client(rate_limit_predict="1/minute", trust_forwarded_for=True)
    for client_ip in ("198.51.100.1", "198.51.100.2"):
        headers = {"X-Forwarded-For": f"203.0.113.50, {client_ip}"}
        assert trusted.post("/api/v1/predict", json=customer, headers=headers).status_code == 200
    headers = {"X-Forwarded-For": "198.51.100.1"}
    assert trusted.post("/api/v1/predict", json=customer, headers=headers).status_code == 429


ADMIN_KEYS = "admin-key-one-0123,admin-key-two-0123"
UNKNOWN_VERSION = "/api/v1/models/20000101.000000-none"


def test_admin_limit_answers_429_per_key_on_admin_routes(ops_client):
    client = ops_client(rate_limit_admin="2/minute", admin_api_keys=ADMIN_KEYS)
    one = {"X-API-Key": "admin-key-one-0123"}
    # Each request counts once, although the route class and the dependency both check the key.
    assert client.delete(UNKNOWN_VERSION, headers=one).status_code == 404
    assert client.post("/api/v1/models/rollback", headers=one).status_code == 409
    limited = client.post("/api/v1/models/no-such/activate", headers=one)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    body = limited.json()
    assert body["type"] == "rate_limited"
    assert set(body) == {"type", "message", "details", "request_id"}
    assert "admin-key-one-0123" not in limited.text
    assert client.delete(UNKNOWN_VERSION, headers={"X-API-Key": "admin-key-two-0123"}).status_code == 404


def test_wrong_admin_keys_from_one_client_share_one_allowance(ops_client, make_settings):
    app = create_app(make_settings(rate_limit_admin="2/minute", admin_api_keys=ADMIN_KEYS))
    guesser = ops_client(app=app, peer=("203.0.113.9", 40_000))
    assert guesser.delete(UNKNOWN_VERSION, headers={"X-API-Key": "guess-1"}).status_code == 403
    assert guesser.post("/api/v1/models", headers={"X-API-Key": "guess-2"}).status_code == 403
    limited = guesser.post("/api/v1/models/rollback", headers={"X-API-Key": "guess-3"})
    assert limited.status_code == 429
    assert limited.json()["type"] == "rate_limited" and "Retry-After" in limited.headers
    assert guesser.get("/metrics", headers={"X-API-Key": "guess-4"}).status_code == 429
    # The operator's right key is refused like the guesses once they are spent: a lucky guess is not told apart.
    assert guesser.delete(UNKNOWN_VERSION, headers={"X-API-Key": "admin-key-one-0123"}).status_code == 429
    assert guesser.get("/metrics", headers={"X-API-Key": "admin-key-one-0123"}).status_code == 429
    other = ops_client(app=app, peer=("198.51.100.7", 40_000))
    assert other.delete(UNKNOWN_VERSION, headers={"X-API-Key": "guess-4"}).status_code == 403
    assert other.delete(UNKNOWN_VERSION, headers={"X-API-Key": "admin-key-one-0123"}).status_code == 404


def test_wrong_keys_for_metrics_count_as_failed_admin_keys(ops_client):
    client = ops_client(peer=("203.0.113.9", 40_000), rate_limit_admin="2/minute", admin_api_keys=ADMIN_KEYS)
    for guess in ("guess-1", "guess-2"):
        assert client.get("/metrics", headers={"X-API-Key": guess}).status_code == 403
    assert client.get("/metrics", headers={"X-API-Key": "guess-3"}).status_code == 429
    # Scrapes from an allowed network send no key and are never limited.
    local = ops_client(rate_limit_admin="1/minute")
    for _ in range(3):
        assert local.get("/metrics").status_code == 200


def test_openapi_documents_the_probes_and_metrics(ops_client):
    paths = ops_client().get("/openapi.json").json()["paths"]
    assert set(paths["/livez"]["get"]["responses"]) == {"200"}
    assert set(paths["/readyz"]["get"]["responses"]) == {"200", "503"}
    assert set(paths["/metrics"]["get"]["responses"]) == {"200", "403", "429"}
    assert "text/plain" in next(iter(paths["/metrics"]["get"]["responses"]["200"]["content"]))


def test_rate_limit_lets_requests_through_when_redis_is_unreachable(ops_client, caplog):
    client = ops_client(rate_limit_predict="1/minute", rate_limit_storage=f"redis://127.0.0.1:{free_port()}/0")
    customer = {"annual_income": 55, "spending_score": 50}
    for _ in range(3):
        assert client.post("/api/v1/predict", json=customer).status_code == 200
    warnings = [record for record in caplog.records if "rate-limit storage unreachable" in record.getMessage()]
    assert len(warnings) == 1


def test_csv_file_size_is_observed_once_per_file_and_every_customer_counted(ops_client):
    client = ops_client()
    # 120,000 rows: several of the scorer's chunks, plus two bad rows that get no segment.
    lines = [f"{10 + i % 120},{1 + i % 99}" for i in range(120_000)]
    body = "\n".join(["annual_income,spending_score", *lines, ",50", "50,500"]) + "\n"
    before = samples(client)
    response = client.post("/api/v1/predict/csv", content=body, headers={"content-type": "text/csv"})
    assert response.status_code == 200
    after = samples(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("scored_customers_per_request_count", segmentation="default", source="csv") == 1
    assert moved("scored_customers_per_request_sum", segmentation="default", source="csv") == 120_002
    segments = {dict(labels)["segment"] for name, labels in after if name == "segment_predictions_total"}
    assert (
        sum(
            moved("segment_predictions_total", segmentation="default", segment=segment, source="csv")
            for segment in segments
        )
        == 120_000
    )
