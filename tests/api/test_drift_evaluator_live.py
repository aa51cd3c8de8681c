"""The drift evaluator under real uvicorn workers: one evaluation per interval however many workers tick, and the
drift_status gauge on /metrics whichever worker answers."""

import json
import urllib.request
from itertools import pairwise

import pytest
from sqlalchemy import select

from app.db.tables import DriftCheck
from app.services.monitoring.evaluator import FRESH_SHARE
from tests.api.test_metrics_live import metrics_text, sample, server_env
from tests.api.test_monitoring import customers
from tests.db.reading import read_all
from tests.live_server import live_server, wait_for, wait_for_workers

pytestmark = pytest.mark.slow

INTERVAL = 1.0
CODES = {"stable": 0.0, "watch": 1.0, "drift": 2.0, "insufficient data": -1.0}


def test_three_workers_evaluate_once_per_interval_and_export_the_latest(model_dir, tmp_path):
    database = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    env = server_env(model_dir, tmp_path / "prometheus") | {
        "DATABASE_URL": database,
        "DRIFT_EVALUATION_SECONDS": str(INTERVAL),
    }
    log_path = tmp_path / "workers.log"
    with live_server(env, log_path, extra_args=("--workers", "3"), timeout=120) as server:
        wait_for_workers(log_path, 3)
        body = json.dumps({"customers": customers(300, seed=81)}).encode()
        request = urllib.request.Request(
            f"{server.url}/api/v1/predict/batch", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200

        def evaluated_with_rows() -> list[DriftCheck]:
            return [row for row in read_all(database, select(DriftCheck)) if row.window_size == 300]

        assert wait_for(lambda: len(evaluated_with_rows()) >= 3, timeout=60) is not None
        text = metrics_text(server.url)
    rows = sorted(read_all(database, select(DriftCheck)), key=lambda row: row.evaluated_at)
    gaps = [(later.evaluated_at - earlier.evaluated_at).total_seconds() for earlier, later in pairwise(rows)]
    # Three workers ticking every second, yet no two evaluations closer than the freshness bound.
    assert min(gaps) >= INTERVAL * FRESH_SHARE, gaps
    assert {row.segmentation for row in rows} == {"default"}
    # The gauge is the latest evaluation's (one at most may have landed after the scrape).
    assert sample(text, "drift_status", segmentation="default", check="overall") in {
        CODES[rows[-1].status],
        CODES[rows[-2].status],
    }
