"""Browsing a kept run: pages of a large run's customers over HTTP, against the pandas script a user would run.

The server sorts a run once per filter and sort, then answers each page from that order. A fresh worker answers the
first pages of the built-in sorts from the run's heads file (written on a thread once the run is kept) and pages in
file order from the row groups they cover; any other first ask (an input column's sort) pays for reading and sorting.
"""

import json
import statistics
import time
import urllib.request
from pathlib import Path
from typing import Any

from app.models.synthetic import write_customers
from app.services.runs.heads import HEADS_FROM_ROWS
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


def _wait_for_heads(path: Path, seconds: float = 120.0) -> float:
    """Seconds until the run's heads file exists (it is written on a thread after the scoring answer)."""
    started = time.perf_counter()
    while not path.exists():
        if time.perf_counter() - started > seconds:
            raise RuntimeError(f"no heads file after {seconds:.0f} s: {path}")
        time.sleep(0.02)
    return time.perf_counter() - started


def _walk_file_order(url: str, rows: int) -> tuple[float, float]:
    """Walk to the middle in file order, each page read alone; the page after the middle: best of 5, first asked."""
    cursor, seen, walked = None, 0, time.perf_counter()
    while seen < rows // 2:
        _, page = _get(f"{url}?limit={WALK}" + (f"&cursor={cursor}" if cursor else ""))
        cursor, seen = page["next_cursor"], seen + len(page["items"])
    walked = time.perf_counter() - walked
    return _best(f"{url}?limit={PAGE}&cursor={cursor}"), walked


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
        heads = results / "runs" / "heads" / f"{run_id}.parquet"
        heads_written = _wait_for_heads(heads) if rows >= HEADS_FROM_ROWS else 0.0
        runs_url = f"{server.url}/api/v1/runs/{run_id}/customers"
        # File order on the fresh worker first: the first page, then the page after the middle, each read alone.
        file_first, _ = _get(f"{runs_url}?limit={PAGE}")
        file_middle, file_walked = _walk_file_order(runs_url, rows)
        base = f"{runs_url}?sort=-distance"
        cold, first = _get(f"{base}&limit={PAGE}")
        assert len(first["items"]) == PAGE
        column_cold, _ = _get(f"{runs_url}?sort=-Age&limit={PAGE}")
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
            "name": f"run browse, {rows:,}-row run: first page of sort=-distance, first ask (from the heads file)",
            "unit": "ms",
            "project": cold * 1000,
            "baseline": baseline * 1000,
            "ratio": baseline / cold,
            "goal": "<= 100 ms",
            "met": cold <= 0.1,
            "note": note + f"; heads file written {heads_written:.2f} s after the scoring answer",
        },
        {
            "name": f"run browse, {rows:,}-row run: file order, first page and the page after the middle, first ask",
            "unit": "ms",
            "project": max(file_first, file_middle) * 1000,
            "baseline": baseline * 1000,
            "ratio": baseline / max(file_first, file_middle),
            "goal": "<= 100 ms",
            "met": max(file_first, file_middle) <= 0.1,
            "note": f"first page {file_first * 1000:.1f} ms, after the middle {file_middle * 1000:.1f} ms (best of 5); "
            f"walking to the middle by {WALK} rows took {file_walked:.1f} s",
        },
        {
            "name": f"run browse, {rows:,}-row run: first page of an input column's sort, first ask (reads and sorts)",
            "unit": "ms",
            "project": column_cold * 1000,
            "baseline": baseline * 1000,
            "ratio": baseline / column_cold,
            "goal": "",
            "met": None,
            "note": note + "; sort=-Age, after the file-order and -distance pages (which read no whole run)",
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
