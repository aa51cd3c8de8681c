"""Hot swap across workers: with `uvicorn --workers 2`, an activation reaches every worker within 2 s, 0 errors."""

import json
import shutil
import threading
import time
import urllib.error
import urllib.request

import pytest

from app.models.training import train
from app.models.versions.store import VersionStore
from tests.live_server import live_server

KEY = "swap-admin-key-0123"
SWAP_WITHIN_SECONDS = 2.0


def _predict(base_url: str) -> tuple[int, str | None]:
    request = urllib.request.Request(
        f"{base_url}/api/v1/predict",
        data=json.dumps({"annual_income": 120, "spending_score": 90}).encode(),
        headers={"Content-Type": "application/json", "Connection": "close"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())["model_version"]
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except OSError:
        return 0, None


@pytest.mark.slow
def test_activation_reaches_every_worker_within_two_seconds_without_errors(model_dir, default_data, tmp_path):
    root = tmp_path / "models_artifacts"
    shutil.copytree(model_dir, root)
    old = VersionStore(root).active_version()
    new = train(default_data, output_dir=root, seed=11).model.version
    env = {"MODEL_DIR": str(root), "AUTO_TRAIN": "false", "ADMIN_API_KEYS": KEY, "MODEL_POLL_SECONDS": "0.5"}
    with live_server(env, tmp_path / "server.log", extra_args=("--workers", "2")) as server:
        results: list[tuple[float, int, str | None]] = []
        stop = threading.Event()

        def stream() -> None:
            while not stop.is_set():
                started = time.monotonic()
                status, version = _predict(server.url)
                results.append((started, status, version))

        threads = [threading.Thread(target=stream) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        request = urllib.request.Request(
            f"{server.url}/api/v1/models/{new}/activate?reason=swap+test", method="POST", headers={"X-API-Key": KEY}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        activated_at = time.monotonic()
        time.sleep(SWAP_WITHIN_SECONDS + 2.0)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        pids = {line for line in (tmp_path / "server.log").read_text().splitlines() if "Started server process" in line}

    assert len(pids) >= 2, "expected two worker processes"
    assert results and all(status == 200 for _, status, _ in results), [r for r in results if r[1] != 200][:5]
    before = [version for started, _, version in results if started < activated_at - 0.5]
    assert before and set(before) == {old}
    late = [version for started, _, version in results if started > activated_at + SWAP_WITHIN_SECONDS]
    assert len(late) >= 20 and set(late) == {new}
    assert {version for _, _, version in results} == {old, new}
