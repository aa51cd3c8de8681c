"""Dask engine benchmark: `score --engine dask` on a 2-worker LocalCluster against the local engine on the same CSV,
each in its own process, measured in the same run; also on an already running cluster (`--scheduler`), and the
cost of starting and stopping the cluster alone, so the figures say where the time goes.

DASK_BENCH_ROWS overrides the row count of the mode. Dask itself runs only in child processes, so each contender's
CPU time is its own processes'. (This file is not named dask.py: `python benchmarks/run.py` puts this folder first on
sys.path, where that name would stand for the real package.)
"""

import contextlib
import filecmp
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.models.synthetic import write_customers
from benchmarks.scoring import ROOT, run_measured

ROWS = {"full": 20_000_000, "quick": 2_000_000, "dry-run": 20_000}
GOAL = 0.7

# What the engine does before and after its first task: start two worker processes, connect, close them.
CLUSTER = """
import logging
from distributed import Client, LocalCluster
if __name__ == "__main__":
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.CRITICAL) as c:
        with Client(c) as client:
            client.wait_for_workers(2)
"""

# A cluster kept up while the engine runs against it by address: its address on the first line, up until stdin closes.
RUNNING = """
import logging, sys
from distributed import LocalCluster
if __name__ == "__main__":
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.CRITICAL) as c:
        print(c.scheduler_address, flush=True)
        sys.stdin.read()
"""


@contextlib.contextmanager
def _running_cluster() -> Iterator[tuple[str, int]]:
    """A 2-worker LocalCluster in a child process, for as long as the block runs: its scheduler's address, its pid."""
    process = subprocess.Popen(
        [sys.executable, "-c", RUNNING], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        address = process.stdout.readline().strip() if process.stdout else ""
        if not address.startswith("tcp://"):
            raise RuntimeError("the benchmark's Dask cluster did not start")
        yield address, process.pid
    finally:
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _cpu_seconds() -> float:
    """CPU seconds of every child process waited for so far (workers included, once their parent reaped them)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a running process and its descendants (a cluster and its workers)."""
    import psutil  # a dependency of distributed

    root = psutil.Process(pid)
    return sum(sum(process.cpu_times()[:2]) for process in [root, *root.children(recursive=True)])


def _timed(argv: list[str], env: dict[str, str], cluster: int | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one child process, with those the running cluster `cluster` spent meanwhile."""
    cpu = _cpu_seconds() + (_tree_cpu_seconds(cluster) if cluster else 0.0)
    seconds, _ = run_measured(argv, env)
    return seconds, _cpu_seconds() + (_tree_cpu_seconds(cluster) if cluster else 0.0) - cpu


def _score(
    source: Path, target: Path, env: dict[str, str], *extra: str, cluster: int | None = None
) -> tuple[float, float]:
    argv = [sys.executable, "-m", "app.cli", "score", str(source), str(target), "--quiet", *extra]
    return _timed(argv, env, cluster)


def bench_dask(mode: str, model_dir: Path, workdir: Path) -> list[dict[str, Any]]:
    """The Dask engine against the local engine on one CSV file, as Figure fields."""
    rows = int(os.environ.get("DASK_BENCH_ROWS") or ROWS[mode])
    source = write_customers(workdir / "dask-in.csv", rows=rows)
    env = {"MODEL_DIR": str(model_dir), "AUTO_TRAIN": "false"}
    local_out, dask_out = workdir / "dask-local.csv", workdir / "dask-out.csv"
    local, dask, running = [], [], []
    started = time.perf_counter()
    with _running_cluster() as (address, pid):
        # In turns, so a slow spell of a shared machine hits all of them; the best of each (the least disturbed).
        for _ in range(1 if mode == "full" else 2):
            local.append(_score(source, local_out, env))
            dask.append(_score(source, dask_out, env, "--engine", "dask"))
            running.append(_score(source, dask_out, env, "--engine", "dask", "--scheduler", address, cluster=pid))
    if not filecmp.cmp(local_out, dask_out, shallow=False):
        raise RuntimeError("the Dask engine's labelled file differs from the local engine's")
    cluster_s = min(_timed([sys.executable, "-c", CLUSTER], {})[0] for _ in range(2))
    (local_s, local_cpu), (dask_s, dask_cpu), (running_s, running_cpu) = min(local), min(dask), min(running)
    ratio, on_running = local_s / dask_s, local_s / running_s
    # Where the time goes, measured: CPU seconds (client and workers) and the cores each kept busy on average. On an
    # idle 2-core machine the local engine keeps about 1.5 busy (reader and CSV render threads), so two workers can
    # gain little over it; on a loaded one each process gets a share of the cores.
    load = os.getloadavg()[0]
    why = (
        f"CPU s: local {local_cpu:.1f} ({local_cpu / local_s:.2f} cores), Dask {dask_cpu:.1f} "
        f"({dask_cpu / dask_s:.2f} cores), on a running cluster {running_cpu:.1f} ({running_cpu / running_s:.2f} "
        f"cores); load average {load:.1f} on {os.cpu_count()} cores"
    )
    return [
        {
            "name": f"Dask engine, 2-worker LocalCluster, {rows:,} rows",
            "unit": "s",
            "project": dask_s,
            "baseline": local_s,
            "ratio": ratio,
            "goal": f">= {GOAL}x",
            "met": ratio >= GOAL,
            "note": (
                f"baseline: the local engine; includes starting and stopping the cluster ({cluster_s:.1f} s alone); "
                + ("" if ratio >= GOAL else f"missed by {GOAL - ratio:.2f}: ")
                + why
            ),
        },
        {
            "name": f"Dask engine on a running 2-worker cluster (--scheduler), {rows:,} rows",
            "unit": "s",
            "project": running_s,
            "baseline": local_s,
            "ratio": on_running,
            "goal": f">= {GOAL}x",
            "met": on_running >= GOAL,
            "note": f"the same, the cluster already up; {why}; bench {time.perf_counter() - started:.0f} s",
        },
        {
            "name": "Dask LocalCluster of 2 workers, start and stop",
            "unit": "s",
            "project": cluster_s,
            "baseline": None,
            "ratio": None,
            "goal": "",
            "met": None,
            "note": "what every --engine dask run without --scheduler pays once",
        },
    ]
