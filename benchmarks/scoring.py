"""Whole-file scoring benchmarks: the CLI against a naive pandas script and the I/O floor, HTTP, and Dask.

Each contender runs in its own process, so its wall time and peak RSS are its own.
"""

import contextlib
import http.client
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.live_server import live_server

ROOT = Path(__file__).resolve().parents[1]

# What a data scientist would write: read it all, transform, predict, write it all.
NAIVE = """
import sys, joblib, pandas as pd
source, target, model_dir = sys.argv[1:4]
scaler = joblib.load(f"{model_dir}/scaler.pkl")
kmeans = joblib.load(f"{model_dir}/kmeans_model.pkl")
df = pd.read_csv(source)
X = scaler.transform(df[["Annual Income (k$)", "Spending Score (1-100)"]].to_numpy())
df["segment"] = kmeans.predict(X)
df.to_csv(target, index=False)
"""

# The same reader and writer as the CLI (Arrow's streaming CSV reader, the project's CSV renderer), no scoring.
IO_FLOOR = """
import sys
from app.models.versions.store import load_model
from app.services.scoring.csv_io import CsvScorer, csv_bytes
from app.services.scoring.options import ScoreOptions
source, target, model_dir = sys.argv[1:4]
scorer = CsvScorer(load_model(model_dir), source, ScoreOptions())
with open(target, "wb") as sink:
    for table, _ in scorer.batches():
        sink.write(csv_bytes(table, ","))
"""


def run_measured(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process; fails loudly if it fails.

    The peak is the child's own VmHWM, polled while it runs: a forked child's ru_maxrss would also count the
    memory of this (large) parent process from before the exec.
    """
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak = 0.0
    while process.poll() is None:
        with contextlib.suppress(OSError, RuntimeError):  # exiting: its memory map is already gone
            peak = max(peak, _rss_mb(process.pid, "VmHWM"))
        time.sleep(0.01)
    seconds = time.perf_counter() - started
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise RuntimeError(f"{argv[:4]} failed: {stderr[-2000:]}")
    return seconds, peak


def score_cli(source: Path, target: Path, env: dict[str, str], *extra: str) -> tuple[float, float]:
    """`python -m app.cli score` on a file."""
    return run_measured([sys.executable, "-m", "app.cli", "score", str(source), str(target), "--quiet", *extra], env)


def naive(source: Path, target: Path, model_dir: Path) -> tuple[float, float]:
    """The naive pandas + scikit-learn script."""
    return run_measured([sys.executable, "-c", NAIVE, str(source), str(target), str(model_dir)], {})


def io_floor(source: Path, target: Path, model_dir: Path) -> tuple[float, float]:
    """Read and write the file with the CLI's reader and writer, no scoring."""
    return run_measured([sys.executable, "-c", IO_FLOOR, str(source), str(target), str(model_dir)], {})


def _rss_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc status")


def score_http(source: Path, env: dict[str, str], log: Path) -> tuple[float, float, int]:
    """Upload a file to /api/v1/predict/csv and read the answer to its last byte.

    Returns the seconds from the first byte sent to the last byte received, the server's RSS growth (peak during
    the upload minus its RSS before), and the number of lines received. A small upload first pays the one-time
    cost of the first file (loading pyarrow and paging in its code), so the growth is what the file itself costs.
    """
    with live_server({**env, "LOG_LEVEL": "WARNING"}, log) as server:
        host, port = server.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=600)
        connection.request(
            "POST",
            "/api/v1/predict/csv",
            body=source.open("rb").read(100_000).rsplit(b"\n", 1)[0],
            headers={"Content-Type": "text/csv"},
        )
        connection.getresponse().read()
        before = _rss_mb(server.pid, "VmRSS")
        started = time.perf_counter()
        with source.open("rb") as body:
            connection.request(
                "POST",
                "/api/v1/predict/csv",
                body=body,
                headers={"Content-Type": "text/csv", "Content-Length": str(source.stat().st_size)},
            )
            response = connection.getresponse()
            lines = 0
            while chunk := response.read(1 << 20):
                lines += chunk.count(b"\n")
        seconds = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"upload failed with {response.status}")
        connection.close()
        growth = _rss_mb(server.pid, "VmHWM") - before
    return seconds, growth, lines
