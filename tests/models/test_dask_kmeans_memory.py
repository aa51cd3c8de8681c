"""Training on Dask from a dataset several times its workers' memory: no worker paused, restarted or killed."""

import logging
import os
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.models.dask_training import train_dask
from app.models.versions.store import VersionStore

ROWS = 45_000_000  # four 8-byte columns: 1.44 GB, 3.2 times a worker's limit and 1.6 times both workers'
ROW_GROUP = 250_000
# With 300 MB the workers paused in CI at 230 MB (80% of the limit) while a partition is 8 MB: most of a worker's
# memory is its own process (Python, distributed, numpy, Arrow), so that limit tested the imports, not training.
MEMORY_LIMIT = 450_000_000
KEY = b"m" * 32
# What the worker and nanny logs say when memory runs short (distributed/worker_memory.py, nanny.py).
TROUBLE = ("Pausing worker", "exceeded", "Restarting", "Worker process died")


def _write(path, rows: int) -> None:
    """Customers in five groups, one row group at a time (never all in memory)."""
    centres = np.array([[25, 20], [25, 80], [55, 50], [90, 15], [90, 85]], dtype=float)
    with pq.ParquetWriter(
        path, pa.schema([(name, pa.float64()) for name in ("customer_id", "age", "annual_income", "spending_score")])
    ) as writer:
        for start in range(0, rows, ROW_GROUP):
            rng = np.random.default_rng(start)
            X = centres[rng.integers(0, 5, ROW_GROUP)] + rng.normal(0, 10, (ROW_GROUP, 2))
            columns = {
                "customer_id": np.arange(start + 1, start + ROW_GROUP + 1, dtype=np.float64),
                "age": rng.integers(18, 80, ROW_GROUP).astype(np.float64),
                "annual_income": np.clip(X[:, 0], 0, 10_000),
                "spending_score": np.clip(X[:, 1], 1, 100),
            }
            writer.write_table(pa.table(columns))


def _trouble(client: Any, workers: list[str]) -> list[Any]:
    """Log lines of the workers and their nannies that say a worker paused, restarted or died, and the scheduler's
    events of a worker pausing or restarted for its memory."""
    logs = [*client.get_worker_logs().values(), *client.get_worker_logs(nanny=True).values()]
    lines = [message for entries in logs for _, message in entries if any(word in message for word in TROUBLE)]
    paused = [event for worker in workers for _, event in client.get_events(worker) if event.get("status") == "paused"]
    return [*lines, *paused, *client.get_events("worker-restart-memory")]


@pytest.mark.slow
def test_a_dataset_several_times_the_workers_memory_trains_with_no_worker_in_trouble(tmp_path, monkeypatch):
    from distributed import Client, LocalCluster

    source = tmp_path / "big.parquet"
    _write(source, ROWS)
    monkeypatch.setattr("app.models.dask_source.PARQUET_PART_ROWS", ROW_GROUP)
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            memory_limit=MEMORY_LIMIT,
            dashboard_address=":0",
            silence_logs=logging.WARNING,
        ) as cluster,
        Client(cluster) as client,
    ):
        pids = client.run(os.getpid)
        result = train_dask(source, client=client, output_dir=tmp_path / "m", k=5, sweep=False, signing_key=KEY)
        assert _trouble(client, list(pids)) == []
        assert client.run(os.getpid) == pids  # the same two worker processes from start to end

    assert ROWS * 4 * 8 > 3 * MEMORY_LIMIT
    model = VersionStore(tmp_path / "m", signing_key=KEY).load(result.model.version)
    info = model.info
    assert info["n_samples"] == info["n_input_rows"] == ROWS and info["dropped_rows"] == {}
    assert sum(segment.size for segment in model.segments) == ROWS and len(model.segments) == 5
    # Five well-separated groups: each segment is about a fifth of the customers, around one group's centre.
    assert all(0.18 < segment.share < 0.22 for segment in model.segments)
    assert info["data_stats"]["spending_score"]["min"] == 1 and info["data_stats"]["spending_score"]["max"] == 100
