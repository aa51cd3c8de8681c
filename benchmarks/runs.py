"""Browsing a kept run: pages of a large run's customers over HTTP, against the pandas a user would write instead.

Once a run is kept, its index (memory-mapped rows and sorted orders) is written by a child process; a worker then
answers any page, filtered or sorted by any column, without reading the run. "Cold" figures are each the best of
three fresh server processes that never read the run (their imports warmed on another, small run first); "warm"
ones on a server that already answered the same query. The baseline is pandas: cold, `read_parquet` then `nlargest`
(or a filter, or a sort for the page after the middle); warm, the same on the frame kept loaded (and kept sorted,
for the middle).
"""

import json
import statistics
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.models.synthetic import write_customers
from app.services.runs.index import INDEX_FROM_ROWS, MANIFEST
from tests.live_server import live_server

ROWS = {"full": 1_000_000, "quick": 1_000_000, "dry-run": 20_000}
PAGE = 50
# Pages walked to reach the middle (the cursor is opaque: a client gets there by paging).
WALK = 1_000
GOAL = 0.1
# Fresh servers per cold figure (its best is the figure, all are in its note): one ask on a shared machine is noise.
COLD_SERVERS = 3
# The cold lists: (what it is, query). Segment 1 is a segment of the default model (VIP / Whale).
COLD = {
    "first page of sort=-distance": {"sort": "-distance"},
    "first page of segment=1&atypical=false (a filtered list)": {"segment": "1", "atypical": "false"},
    "first page of segment=1&sort=-confidence (filtered and sorted)": {"segment": "1", "sort": "-confidence"},
    "first page of sort=-Age (an input column)": {"sort": "-Age"},
}


def _get(url: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=300) as response:
        body = json.loads(response.read())
    return time.perf_counter() - started, body


def _best(url: str, repeat: int = 5) -> float:
    return min(_get(url)[0] for _ in range(repeat))


def _timed(work: Callable[[], object], repeat: int = 1) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def _pandas(path: Path, middle: int) -> dict[str, float]:
    """The pandas a user would run for the same pages: cold (read the file, then answer) and warm (frame kept)."""
    import pandas as pd

    def read() -> pd.DataFrame:
        return pd.read_parquet(path)

    def vip(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[(frame["segment_id"] == 1) & ~frame["is_atypical"]]

    def by_age(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(Age=pd.to_numeric(frame["Age"], errors="coerce")).nlargest(PAGE, "Age")

    pages = {
        "first": lambda frame: frame.nlargest(PAGE, "distance"),
        "middle": lambda frame: frame.sort_values("distance", ascending=False, kind="stable").iloc[middle:][:PAGE],
        "filtered": lambda frame: vip(frame).head(PAGE),
        "filtered sorted": lambda frame: frame[frame["segment_id"] == 1].nlargest(PAGE, "confidence"),
        "column": by_age,
    }
    out = {f"cold {name}": _timed(lambda page=page: page(read()).to_dict("records"), 2) for name, page in pages.items()}
    frame = read()
    ordered = frame.sort_values("distance", ascending=False, kind="stable")
    out["warm first"] = _timed(lambda: pages["first"](frame).to_dict("records"), 5)
    out["warm middle"] = _timed(lambda: ordered.iloc[middle:][:PAGE].to_dict("records"), 5)
    return out


def _wait_for(path: Path, seconds: float = 300.0) -> float:
    """Seconds until `path` exists (the run's index is written on a thread after the scoring answer)."""
    started = time.perf_counter()
    while not path.exists():
        if time.perf_counter() - started > seconds:
            raise RuntimeError(f"not written after {seconds:.0f} s: {path}")
        time.sleep(0.02)
    return time.perf_counter() - started


def _score(url: str, source: Path) -> str:
    request = urllib.request.Request(
        url + "/api/v1/predict/csv",
        data=source.read_bytes(),
        headers={"content-type": "text/csv", "accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read())["run_id"]


def _walk(url: str, rows: int) -> tuple[str, float]:
    """The cursor of the page after the middle, reached by paging WALK rows at a time; and the seconds it took."""
    cursor, seen, started = None, 0, time.perf_counter()
    url += f"{'&' if '?' in url else '?'}limit={WALK}"
    while seen < rows // 2:
        _, page = _get(url + (f"&cursor={cursor}" if cursor else ""))
        cursor, seen = page["next_cursor"], seen + len(page["items"])
    return cursor, time.perf_counter() - started


def _figure(name: str, project: float, baseline: float, note: str, goal: bool = True) -> dict[str, Any]:
    return {
        "name": name,
        "unit": "ms",
        "project": project * 1000,
        "baseline": baseline * 1000,
        "ratio": baseline / project,
        "goal": "<= 100 ms" if goal else "",
        "met": project <= GOAL if goal else None,
        "note": note,
    }


def bench_runs(mode: str, model_dir: Path, workdir: Path) -> list[dict[str, Any]]:
    """Cold pages (fresh servers) and warm pages of a large run: sorted, filtered, by an input column, the middle."""
    rows = ROWS[mode]
    source = write_customers(workdir / "runs-in.csv", rows=rows)
    small = write_customers(workdir / "runs-small.csv", rows=200)
    results = workdir / "runs-results"
    env = {
        "MODEL_DIR": str(model_dir),
        "AUTO_TRAIN": "false",
        "SCORE_RESULTS_DIR": str(results),
        "DATABASE_URL": f"sqlite:///{workdir / 'runs.sqlite3'}",
    }
    log = workdir / "runs-server.log"
    with live_server(env, log) as server:
        warmup = _score(server.url, small)
        run_id = _score(server.url, source)
        indexed = rows >= INDEX_FROM_ROWS
        index_seconds = _wait_for(results / "runs" / "index" / run_id / MANIFEST) if indexed else 0.0
        runs_url = f"{server.url}/api/v1/runs/{run_id}/customers"
        # The cursors of the pages after the middle, walked once here (a cursor is valid on any worker).
        middle_cursor, walked = _walk(f"{runs_url}?sort=-distance", rows)
        file_cursor, _ = _walk(runs_url, rows)
    run_file = results / "runs" / f"{run_id}.parquet"
    index_bytes = sum(path.stat().st_size for path in (results / "runs" / "index" / run_id).glob("*")) if indexed else 0

    spreads: dict[str, list[float]] = {}

    def cold(query: str) -> float:
        """The first ask of `query` on a fresh server whose imports were warmed on another run: best of COLD_SERVERS
        servers (one ask each), every time kept for the note."""
        times = []
        for _ in range(COLD_SERVERS):
            with live_server(env, log) as fresh:
                _get(f"{fresh.url}/api/v1/runs/{warmup}/customers?sort=-Age&segment=1&limit={PAGE}")
                times.append(_get(f"{fresh.url}/api/v1/runs/{run_id}/customers?{query}")[0])
        spreads[query] = times
        return min(times)

    def spread(query: str) -> str:
        return "cold asks " + ", ".join(f"{seconds * 1000:.0f}" for seconds in spreads[query]) + " ms"

    queries = {name: urllib.parse.urlencode({**query, "limit": PAGE}) for name, query in COLD.items()}
    middle_query = f"sort=-distance&limit={PAGE}&cursor={middle_cursor}"
    file_query = f"limit={PAGE}&cursor={file_cursor}"
    cold_lists = {name: cold(query) for name, query in queries.items()}
    cold_middle = cold(middle_query)
    cold_file = cold(file_query)
    with live_server(env, log) as server:
        runs_url = f"{server.url}/api/v1/runs/{run_id}/customers"
        base = f"{runs_url}?sort=-distance&limit={PAGE}"
        _get(base)
        warm_first = _best(base)
        warm_middle = _best(f"{base}&cursor={middle_cursor}")
        median_middle = statistics.median([_get(f"{base}&cursor={middle_cursor}")[0] for _ in range(5)])
    pandas = _pandas(run_file, rows // 2)

    how = (
        f"fresh server (imports warmed on another run); index written {index_seconds:.1f} s after the scoring answer, "
        f"{index_bytes / 1e6:.0f} MB beside a {run_file.stat().st_size / 1e6:.1f} MB run file"
    )
    baselines = {
        "first page of sort=-distance": ("cold first", "pd.read_parquet + nlargest(50, 'distance')"),
        "first page of segment=1&atypical=false (a filtered list)": ("cold filtered", "pd.read_parquet + mask + head"),
        "first page of segment=1&sort=-confidence (filtered and sorted)": (
            "cold filtered sorted",
            "pd.read_parquet + mask + nlargest",
        ),
        "first page of sort=-Age (an input column)": ("cold column", "pd.read_parquet + to_numeric + nlargest"),
    }
    figures = [
        _figure(
            f"run browse, {rows:,}-row run, cold worker: {name}",
            seconds,
            pandas[baselines[name][0]],
            f"{how}; {spread(queries[name])}; baseline: {baselines[name][1]}",
        )
        for name, seconds in cold_lists.items()
    ]
    figures += [
        _figure(
            f"run browse, {rows:,}-row run, cold worker: the page after the middle of sort=-distance",
            cold_middle,
            pandas["cold middle"],
            f"{how}; {spread(middle_query)}; baseline: pd.read_parquet + sort_values + iloc; walking there by {WALK} "
            f"rows took {walked:.1f} s",
        ),
        _figure(
            f"run browse, {rows:,}-row run, cold worker: the page after the middle in file order",
            cold_file,
            pandas["cold middle"],
            f"{how}; {spread(file_query)}; baseline: pd.read_parquet + sort_values + iloc",
        ),
        _figure(
            f"run browse, {rows:,}-row run: first page",
            warm_first,
            pandas["warm first"],
            "the same query asked before (best of 5, over HTTP); baseline: nlargest on the frame kept loaded",
        ),
        _figure(
            f"run browse, {rows:,}-row run: the page after the middle",
            max(warm_middle, median_middle),
            pandas["warm middle"],
            f"best of 5 {warm_middle * 1000:.1f} ms, median {median_middle * 1000:.1f} ms (over HTTP); baseline: "
            "iloc on the frame kept loaded and sorted (in process, no HTTP)",
        ),
    ]
    return figures
