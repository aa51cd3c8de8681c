"""Start-up benchmarks: time to health 200, model load, imports, and peak memory after predictions.

The "startup" step of benchmarks/run.py; every figure against a plain FastAPI app or the obvious alternative,
measured in the same run.
"""

import http.client
import json
import statistics
import subprocess
import sys
import timeit
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from app.core.config import PROJECT_ROOT
from app.models.versions.store import VersionStore, load_model
from tests.live_server import live_server


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def _post_many(url: str, count: int) -> None:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    rng = np.random.default_rng(2)
    for income, score in rng.uniform([0, 1], [150, 100], (count, 2)).tolist():
        body = json.dumps({"annual_income": income, "spending_score": score})
        connection.request("POST", "/api/v1/predict", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"prediction failed with {response.status}")
    connection.close()


def _import_seconds(module: str, runs: int) -> float:
    code = f"import time; t = time.perf_counter(); from {module} import app; print(time.perf_counter() - t)"
    results = []
    for _ in range(runs):
        output = subprocess.run(
            [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        )
        results.append(float(output.stdout.strip()))
    return statistics.median(results)


def _figure(name: str, unit: str, project: float, baseline: float, goal: str, met: bool | None, note: str = ""):
    """One figure whose ratio is baseline/project (times and memory: above 1, the project is better)."""
    return {
        "name": name,
        "unit": unit,
        "project": project,
        "baseline": baseline,
        "ratio": baseline / project,
        "goal": goal,
        "met": met,
        "note": note,
    }


def bench_startup(model_dir: Path, sizes: Any, workdir: Path) -> list[dict[str, Any]]:
    """5. Start-up to health 200, model load, imports, and peak memory after predictions."""
    env = {
        "MODEL_DIR": str(model_dir),
        "AUTO_TRAIN": "false",
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_PREDICT": "10000000/minute",
    }
    ready, bare_ready, rss, bare_rss = [], [], [], []
    for run in range(sizes.startup_runs):
        with live_server(env, workdir / f"start-{run}.log") as server:
            ready.append(server.ready_seconds)
            _post_many(server.url, sizes.predictions_for_rss)
            rss.append(_peak_rss_mb(server.pid))
        with live_server(env, workdir / f"bare-{run}.log", app="benchmarks.bare_app:app") as server:
            bare_ready.append(server.ready_seconds)
            _post_many(server.url, sizes.predictions_for_rss)
            bare_rss.append(_peak_rss_mb(server.pid))
    # Best of five: the run least disturbed by other load.
    load_s = min(timeit.repeat(lambda: load_model(model_dir), number=1, repeat=5))
    # The obvious alternative: unpickle both estimators (scikit-learn is already imported here, which flatters it).
    version_dir = model_dir / VersionStore(model_dir).active_version()
    unpickle_s = min(
        timeit.repeat(
            lambda: (joblib.load(version_dir / "kmeans_model.pkl"), joblib.load(version_dir / "scaler.pkl")),
            number=1,
            repeat=5,
        )
    )
    imports = _import_seconds("main", sizes.startup_runs + 1)
    bare_imports = _import_seconds("benchmarks.bare_app", sizes.startup_runs + 1)
    ready_s, bare_ready_s = statistics.median(ready), statistics.median(bare_ready)
    rss_mb, bare_rss_mb = statistics.median(rss), statistics.median(bare_rss)
    return [
        _figure("start-up to health 200", "s", ready_s, bare_ready_s, "< 3 s", ready_s < 3),
        _figure(
            "model load (verify checksums + read parameters)",
            "s",
            load_s,
            unpickle_s,
            "< 0.5 s",
            load_s < 0.5,
            "baseline: joblib.load of both pickles",
        ),
        _figure("imports (from main import app)", "s", imports, bare_imports, "", None),
        _figure(
            f"peak RSS after {sizes.predictions_for_rss:,} predictions",
            "MB",
            rss_mb,
            bare_rss_mb,
            "<= 150 MB",
            rss_mb <= 150,
            "one uvicorn worker",
        ),
    ]
