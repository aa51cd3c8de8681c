"""Champion and challenger on a live server with two workers: the setting reaches both, and split holds over HTTP."""

import json
import time
import urllib.request

import pytest

from tests.live_server import live_server

pytestmark = pytest.mark.slow

KEY = "challenger-live-key"


def _call(url: str, method: str, body: object | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json", "X-API-Key": KEY},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, json.loads(response.read())


def test_split_on_a_live_server_with_two_workers(two_versions, tmp_path):
    root, first, second = two_versions
    env = {"MODEL_DIR": str(root), "AUTO_TRAIN": "false", "ADMIN_API_KEYS": KEY, "MODEL_POLL_SECONDS": "0.5"}
    with live_server(env, tmp_path / "server.log", extra_args=("--workers", "2"), timeout=120) as server:
        status, _ = _call(f"{server.url}/api/v1/challenger", "PUT", {"version": second, "mode": "split", "share": 0.3})
        assert status == 200
        time.sleep(2.0)  # both workers poll the setting every 0.5 s
        ids = [f"live-{i}" for i in range(10_000)]
        status, body = _call(
            f"{server.url}/api/v1/predict/batch",
            "POST",
            {"customers": [{"customer_id": i, "annual_income": 60, "spending_score": 50} for i in ids]},
        )
        assert status == 200
        arms = {p["customer_id"]: p["arm"] for p in body["predictions"]}
        assert 0.29 <= list(arms.values()).count("challenger") / len(ids) <= 0.31
        # Single requests spread over both workers: every id keeps its arm (and its version).
        for customer_id in ids[:400]:
            _, single = _call(
                f"{server.url}/api/v1/predict",
                "POST",
                {"customer_id": customer_id, "annual_income": 60, "spending_score": 50},
            )
            assert single["arm"] == arms[customer_id]
            assert single["model_version"] == (second if single["arm"] == "challenger" else first)
        status, _ = _call(f"{server.url}/api/v1/challenger", "DELETE")
        assert status == 200
        time.sleep(2.0)
        answers = [
            _call(
                f"{server.url}/api/v1/predict", "POST", {"customer_id": i, "annual_income": 60, "spending_score": 50}
            )[1]
            for i in ids[:50]
        ]
        assert all("arm" not in answer and answer["model_version"] == first for answer in answers)
        workers = {
            line for line in (tmp_path / "server.log").read_text().splitlines() if "Started server process" in line
        }
    assert len(workers) >= 2
