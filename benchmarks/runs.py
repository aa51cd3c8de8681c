"""Browsing a kept run: pages of a large run's customers over HTTP, against the pandas script a user would run.

The server sorts a run once per filter and sort, then answers each page from that order: the first ask pays for
reading and sorting, the pages after it (the first again, the one after the middle) only for their own rows.
"""

import json
import statistics
import time
import urllib.request
from pathlib import Path
from typing import Any

from app.models.synthetic import write_customers
from tests.live_server import live_server

ROWS = {"full": 1_000_000, "quick": 1_000_000, "dry-run": 20_000}
PAGE = 50
# Pages walked to reach the middle (the cursor is opaque: a client gets there by paging).
WALK = 1_000


def _get(url: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=300) as response:
        body = json.loads(response.read())
    return time.perf_counter() - started, body


def _best(url: str, repeat: int = 5) -> float:
    return min(_get(url)[0] for _ in range(repeat))


def _pandas_page(path: Path) -> float:
    """What a user would otherwise run for the same page: read the run's Parquet file, sort, take the first 50."""
    import pandas as pd

    times = []
    for _ in range(2):
        started = time.perf_counter()
        frame = pd.read_parquet(path)
        frame.sort_values("distance", ascending=False, kind="stable").iloc[:PAGE].to_dict("records")
        times.append(time.perf_counter() - started)
    return min(times)


def bench_runs(mode: str, model_dir: Path, workdir: Path) -> list[dict[str, Any]]:
    """The first page of a sort (first ask, then again) and the page after the middle, on a large run."""
    rows = ROWS[mode]
    source = write_customers(workdir / "runs-in.csv", rows=rows)
    results = workdir / "runs-results"
    env = {"MODEL_DIR": str(model_dir), "AUTO_TRAIN": "false", "SCORE_RESULTS_DIR": str(results)}
    with live_server(env, workdir / "runs-server.log") as server:
        request = urllib.request.Request(
            server.url + "/api/v1/predict/csv",
            data=source.read_bytes(),
            headers={"content-type": "text/csv", "accept": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=600) as response:
            run_id = json.loads(response.read())["run_id"]
        base = f"{server.url}/api/v1/runs/{run_id}/customers?sort=-distance"
        cold, first = _get(f"{base}&limit={PAGE}")
        assert len(first["items"]) == PAGE
        warm = _best(f"{base}&limit={PAGE}")
        cursor, seen = first["next_cursor"], 0
        while seen < rows // 2 - WALK:
            _, page = _get(f"{base}&limit={WALK}" + (f"&cursor={cursor}" if cursor else ""))
            cursor, seen = page["next_cursor"], seen + len(page["items"])
        middle = _best(f"{base}&limit={PAGE}&cursor={cursor}")
        pages = statistics.median([_get(f"{base}&limit={PAGE}&cursor={cursor}")[0] for _ in range(5)])
    baseline = _pandas_page(results / "runs" / f"{run_id}.parquet")
    note = "baseline: pd.read_parquet of the run's file, sort_values, first 50 rows"
    return [
        {
            "name": f"run browse, {rows:,}-row run: first page, first ask (reads and sorts the run once)",
            "unit": "ms",
            "project": cold * 1000,
            "baseline": baseline * 1000,
            "ratio": baseline / cold,
            "goal": "",
            "met": None,
            "note": note,
        },
        {
            "name": f"run browse, {rows:,}-row run: first page",
            "unit": "ms",
            "project": warm * 1000,
            "baseline": baseline * 1000,
            "ratio": baseline / warm,
            "goal": "<= 100 ms",
            "met": warm <= 0.1,
            "note": note + "; the same sort asked before",
        },
        {
            "name": f"run browse, {rows:,}-row run: the page after the middle",
            "unit": "ms",
            "project": middle * 1000,
            "baseline": baseline * 1000,
            "ratio": baseline / middle,
            "goal": "<= 100 ms",
            "met": middle <= 0.1 and pages <= 0.1,
            "note": note + f"; median of 5: {pages * 1000:.1f} ms",
        },
    ]
