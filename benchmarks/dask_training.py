"""Training beyond memory: `train --engine dask` on a Parquet dataset larger than its workers' total memory.

A LocalCluster of 2 workers with memory_limit="1GB" each trains on 100M rows (full mode); the in-memory trainer
(train(), the whole CSV in pandas) trains on 10M rows in its own process. Both fit k=5 without the sweep. The
figures: seconds per million rows of each (the ratio is the throughput of Dask over the local trainer's), and the
workers paused, restarted or killed while Dask trained (read from the worker and nanny logs, the scheduler's
restart events and the workers' process ids before and after), which must be none.

The datasets are generated with numpy one row group at a time, never whole in memory. DASK_TRAIN_BENCH_ROWS and
DASK_TRAIN_BENCH_LOCAL_ROWS override the row counts of the mode.
"""

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.scoring import run_measured

ROWS = {"full": 100_000_000, "quick": 5_000_000, "dry-run": 60_000}
LOCAL_ROWS = {"full": 10_000_000, "quick": 1_000_000, "dry-run": 20_000}
ROW_GROUP = {"full": 1_000_000, "quick": 500_000, "dry-run": 10_000}
WORKERS = 2
MEMORY_LIMIT = "1GB"
# Five groups of customers in the default features' ranges, with an age: four numeric columns per row.
CENTRES = np.array([[25, 20], [25, 80], [55, 50], [90, 15], [90, 85]], dtype=float)
# What the worker and nanny logs say when memory runs short (distributed/worker_memory.py, nanny.py).
TROUBLE = ("Pausing worker", "exceeded", "Restarting", "killed", "Worker process died")

LOCAL_TRAINER = """
import sys
from app.models.training import train
train(sys.argv[1], output_dir=sys.argv[2], k=5, sweep=False)
"""


def _chunk(rows: int, start: int, seed: int) -> dict[str, np.ndarray]:
    """One row group of customers."""
    rng = np.random.default_rng([seed, start])
    X = CENTRES[rng.integers(0, len(CENTRES), rows)] + rng.normal(0, 10, (rows, 2))
    return {
        "customer_id": np.arange(start + 1, start + rows + 1, dtype=np.int64),
        "age": rng.integers(18, 80, rows).astype(np.float64),
        "annual_income": np.clip(X[:, 0], 0, 10_000).round(2),
        "spending_score": np.clip(X[:, 1], 1, 100).round(2),
    }


def write_parquet(path: Path, rows: int, row_group: int, seed: int = 0) -> Path:
    """`rows` customers as Parquet, written one row group at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    for start in range(0, rows, row_group):
        table = pa.table(_chunk(min(row_group, rows - start), start, seed))
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=row_group)
    if writer is not None:
        writer.close()
    return path


def write_csv(path: Path, rows: int, row_group: int, seed: int = 1) -> Path:
    """`rows` customers as CSV (the local trainer's input), written one block at a time."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    with pa_csv.CSVWriter(path, pa.schema([(name, pa.float64()) for name in ("annual_income", "spending_score")])) as w:
        for start in range(0, rows, row_group):
            chunk = _chunk(min(row_group, rows - start), start, seed)
            w.write_table(pa.table({name: chunk[name] for name in ("annual_income", "spending_score")}))
    return path


def _pids(client: Any) -> dict[str, int]:
    return client.run(os.getpid)


def worker_trouble(client: Any, pids_before: dict[str, int]) -> dict[str, int]:
    """Pauses, restarts and kills seen on the cluster since it started."""
    lines = [
        message
        for logs in (client.get_worker_logs(), client.get_worker_logs(nanny=True))
        for entries in logs.values()
        for _, message in entries
    ]
    counts = {word: sum(word in line for line in lines) for word in TROUBLE}
    pids_after = _pids(client)
    # The scheduler records each worker's status changes under its address.
    paused = [e for worker in pids_before for _, e in client.get_events(worker) if e.get("status") == "paused"]
    return {
        "paused": max(counts["Pausing worker"], len(paused)),
        "restarted": counts["Restarting"] + counts["exceeded"] + len(client.get_events("worker-restart-memory")),
        "killed": counts["killed"] + counts["Worker process died"],
        "replaced": sum(pids_after.get(address) != pid for address, pid in pids_before.items()),
    }


def train_on_dask(source: Path, output_dir: Path) -> tuple[float, dict[str, int], int]:
    """Train on a fresh 2-worker, 1 GB-per-worker LocalCluster: seconds, trouble seen, Lloyd passes."""
    from distributed import Client, LocalCluster

    from app.models.dask_training import train_dask

    with (
        LocalCluster(
            n_workers=WORKERS,
            threads_per_worker=1,
            memory_limit=MEMORY_LIMIT,
            dashboard_address=":0",
            silence_logs=logging.WARNING,  # warnings kept: a pause or a restart is logged at that level
        ) as cluster,
        Client(cluster) as client,
    ):
        pids = _pids(client)
        started = time.perf_counter()
        result = train_dask(source, client=client, output_dir=output_dir, k=5, sweep=False)
        seconds = time.perf_counter() - started
        return seconds, worker_trouble(client, pids), int(result.model.info["n_iter"])


def bench_dask_training(mode: str, workdir: Path) -> list[dict[str, Any]]:
    """Dask training on a dataset beyond its workers' memory against the in-memory trainer, as Figure fields."""
    rows = int(os.environ.get("DASK_TRAIN_BENCH_ROWS") or ROWS[mode])
    local_rows = int(os.environ.get("DASK_TRAIN_BENCH_LOCAL_ROWS") or LOCAL_ROWS[mode])
    parquet = write_parquet(workdir / "dask-train.parquet", rows, ROW_GROUP[mode])
    csv = write_csv(workdir / "local-train.csv", local_rows, ROW_GROUP[mode])
    in_memory_gb = rows * 4 * 8 / 1e9  # four float64/int64 columns, as Arrow or numpy holds them
    local_s, local_mb = run_measured(
        [sys.executable, "-c", LOCAL_TRAINER, str(csv), str(workdir / "local-models")], {"PYTHONPATH": "."}
    )
    dask_s, trouble, passes = train_on_dask(parquet, workdir / "dask-models")
    per_million_dask, per_million_local = dask_s / rows * 1e6, local_s / local_rows * 1e6
    troubles = sum(trouble.values())
    return [
        {
            "name": f"Dask training, {rows:,} rows ({in_memory_gb:.1f} GB) on {WORKERS} workers of {MEMORY_LIMIT}, "
            f"per M rows, vs the in-memory trainer on {local_rows:,}",
            "unit": "s",
            "project": per_million_dask,
            "baseline": per_million_local,
            "ratio": per_million_local / per_million_dask,
            "goal": "report",
            "met": None,
            "note": f"Parquet file {parquet.stat().st_size / 1e9:.2f} GB on disk; "
            f"Dask {dask_s:.1f} s in {passes} Lloyd passes (+ 2 passes: moments and sample, final labels); "
            f"in-memory {local_s:.1f} s, peak RSS {local_mb:.0f} MB",
        },
        {
            "name": "Dask training: workers paused, restarted or killed",
            "unit": "events",
            "project": float(troubles),
            "baseline": 0.0,
            "ratio": None,
            "goal": "0",
            "met": troubles == 0,
            "note": ", ".join(f"{key} {value}" for key, value in trouble.items()),
        },
    ]
