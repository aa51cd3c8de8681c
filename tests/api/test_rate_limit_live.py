"""Rate limits on real uvicorn servers: a Redis-backed limit is one count for every worker."""

import json
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.mmap_dict import MmapedDict

from tests.live_server import live_server, wait_for_workers
from tests.tools import redis_server

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
                if len(results) >= 40 and len(per_worker) == 2:
                    break
    statuses = Counter(status for status, _ in results)
    # Both workers answered, yet together they let exactly 20 through: one shared count, not 20 each.
    assert len(per_worker) == 2 and all(count > 0 for count in per_worker.values()), per_worker
    assert sum(per_worker.values()) == len(results)
    assert statuses == {200: 20, 429: len(results) - 20}
    assert all(1 <= int(retry) <= 60 for status, retry in results if status == 429)
