"""Rate limits on real uvicorn servers: a Redis-backed limit is one count for every worker, and a frozen Redis opens
the circuit (predictions unlimited, failed keys still refused)."""

import json
import signal
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from tests.live_server import live_server, wait_for, wait_for_workers
from tests.tools import redis_process, redis_server

pytestmark = pytest.mark.slow

CUSTOMER = json.dumps({"annual_income": 55, "spending_score": 50}).encode()


def post_predict(url: str) -> tuple[int, str | None]:
    """One prediction on a new connection: the status and any Retry-After."""
    request = urllib.request.Request(
        f"{url}/api/v1/predict", data=CUSTOMER, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Retry-After")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Retry-After")


def predict_requests_per_worker(metrics_dir: Path) -> dict[str, int]:
    """How many prediction requests each worker answered, read from its own multiprocess file."""
    answered = {}
    for path in metrics_dir.glob("counter_*.db"):
        total = 0
        for key, value, _timestamp, _position in MmapedDict.read_all_values_from_file(str(path)):
            _metric, sample, labels, _help = json.loads(key)
            if sample == "http_requests_total" and labels["route"] == "/api/v1/predict":
                total += int(value)
        answered[path.stem] = total
    return answered


def test_redis_limit_is_shared_by_two_workers(model_dir, tmp_path):
    metrics_dir = tmp_path / "prometheus"
    with redis_server() as redis_url:
        env = {
            "MODEL_DIR": str(model_dir),
            "AUTO_TRAIN": "false",
            "RATE_LIMIT_PREDICT": "20/minute",
            "RATE_LIMIT_STORAGE": redis_url,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        }
        with live_server(env, tmp_path / "workers.log", extra_args=("--workers", "2"), timeout=120) as server:
            wait_for_workers(tmp_path / "workers.log", 2)
            results: list = []
            per_worker: dict[str, int] = {}
            # The kernel decides which worker accepts each connection: send rounds of 20 until both have answered
            # (bounded), so the count below is known to span two processes.
            for _ in range(20):
                with ThreadPoolExecutor(max_workers=6) as pool:
                    results += pool.map(lambda _: post_predict(server.url), range(20))
                # A worker counts a request as its answer leaves; give the other process a moment to be seen.
                deadline = time.monotonic() + 10
                while sum((per_worker := predict_requests_per_worker(metrics_dir)).values()) < len(results):
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
                # A worker's metrics file may exist before it answers (counters exported at 0): both must count.
                if len(results) >= 40 and len(per_worker) == 2 and all(per_worker.values()):
                    break
    statuses = Counter(status for status, _ in results)
    # Both workers answered, yet together they let exactly 20 through: one shared count, not 20 each.
    assert len(per_worker) == 2 and all(count > 0 for count in per_worker.values()), per_worker
    assert sum(per_worker.values()) == len(results)
    assert statuses == {200: 20, 429: len(results) - 20}
    assert all(1 <= int(retry) <= 60 for status, retry in results if status == 429)


def metric(url: str, name: str) -> float:
    """One unlabelled sample of /metrics (read from 127.0.0.1, an allowed network, with no key: never limited)."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    [value] = [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]
    return value


def delete_with_key(url: str, key: str, client: str) -> int:
    """An admin request with `key`, from `client` (X-Forwarded-For, trusted in this test): its status."""
    request = urllib.request.Request(
        f"{url}/api/v1/models/20000101.000000-none",
        headers={"X-API-Key": key, "X-Forwarded-For": client},
        method="DELETE",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_frozen_redis_opens_the_circuit_fails_predictions_open_and_failed_keys_closed(model_dir, tmp_path):
    with redis_process() as (redis_url, redis):
        env = {
            "MODEL_DIR": str(model_dir),
            "AUTO_TRAIN": "false",
            "RATE_LIMIT_STORAGE": redis_url,
            "RATE_LIMIT_PREDICT": "1000000/minute",
            "RATE_LIMIT_ADMIN": "2/minute",
            "RATE_LIMIT_CIRCUIT_FAILURES": "3",
            "RATE_LIMIT_CIRCUIT_RESET_SECONDS": "1",
            "ADMIN_API_KEYS": "right-admin-key-0123",
            "TRUST_FORWARDED_FOR": "true",
        }
        with live_server(env, tmp_path / "server.log") as server:
            # A guesser locked out while Redis answers.
            locked = [delete_with_key(server.url, f"guess-{n}", "198.51.100.1") for n in range(3)]
            assert locked == [403, 403, 429]
            redis.send_signal(signal.SIGSTOP)
            frozen = [post_predict(server.url)[0] for _ in range(10)]
            assert frozen == [200] * 10
            assert metric(server.url, "rate_limit_storage_circuit_open") == 1
            # The lockout holds, the operator's right key included; a new guesser is counted in the worker's memory.
            assert delete_with_key(server.url, "guess-3", "198.51.100.1") == 429
            assert delete_with_key(server.url, "right-admin-key-0123", "198.51.100.1") == 429
            fresh = [delete_with_key(server.url, f"guess-{n}", "198.51.100.2") for n in range(3)]
            assert fresh == [403, 403, 429]
            redis.send_signal(signal.SIGCONT)

            def closed() -> bool:
                post_predict(server.url)  # a probe, once the delay is over
                return metric(server.url, "rate_limit_storage_circuit_open") == 0

            assert wait_for(closed, 30) is not None
    log = (tmp_path / "server.log").read_text()
    assert log.count("circuit open") == 1 and "circuit closed" in log
