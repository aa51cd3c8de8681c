"""Monitoring over a large prediction log: the over-time series and one drift evaluation, in this process.

The log (SQLite) is written as the service writes it: batches of 50 to 5,000 rows, ids on nine in ten and customers
coming back, stored as `prediction_chunks` rows, and a tenth of the rows single predictions, a row each in
`prediction_log`; all within the last 24 hours, so the evaluator's window and the series read every row. Each figure
is the best CPU time of a few calls (the evaluator's cost is a core taken from the requests), wall time in its note.
There is no baseline: both answers are the service's own, and the tests hold them to the row-by-row loops they
replaced.

python benchmarks/monitoring.py [ROWS]   the figures alone (200,000 rows by default)
"""

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.db.migrate import upgrade_database  # noqa: E402
from app.db.session import create_db_engine, session_factory  # noqa: E402
from app.models.model import SegmentationModel  # noqa: E402
from app.services.monitoring.drift import drift_report  # noqa: E402
from app.services.monitoring.log_rows import LogChunk, log_scores  # noqa: E402
from app.services.monitoring.prediction_log import PredictionLogWriter  # noqa: E402
from app.services.monitoring.timeseries import timeseries  # noqa: E402
from app.services.monitoring.windows import DEFAULT_SPAN, time_window  # noqa: E402
from app.utils.memory import tuned_gc  # noqa: E402

ROWS = {"full": 200_000, "quick": 200_000, "dry-run": 2_000}
SINGLE_SHARE = 0.1
GOAL_SECONDS = 0.5
REPEAT = 3


class _Captured:
    """A sink that keeps the chunks log_scores builds, to write them in the order they were answered."""

    def __init__(self) -> None:
        self.chunks: list[LogChunk] = []

    def sampled(self) -> bool:
        return True

    def submit(self, chunk: LogChunk) -> None:
        self.chunks.append(chunk)


def fill_log(url: str, model: SegmentationModel, *, rows: int, now: datetime, seed: int = 0) -> int:
    """Write `rows` predictions of `model` to the log at `url`, as the service would have over the day to `now`."""
    rng = np.random.default_rng(seed)
    sink = _Captured()
    start, span = now - DEFAULT_SPAN, DEFAULT_SPAN.total_seconds()
    singles = int(rows * SINGLE_SHARE)
    left = rows - singles

    def log(n: int, ids: list[str | None], **options: Any) -> None:
        X = np.column_stack([rng.uniform(15, 137, n), rng.uniform(1, 99, n)])
        log_scores(sink, model, X, model.score(X), customer_ids=ids, **options)
        # Whole seconds for singles: several answered in one second share a time, as under load.
        offset = rng.uniform(1, span) if n > 1 else float(rng.integers(1, int(span)))
        sink.chunks[-1].created_at = start + timedelta(seconds=offset)

    while left > 0:
        n = min(left, int(rng.integers(50, 5_000)))
        ids = [None if rng.random() < 0.1 else f"C{customer}" for customer in rng.integers(0, rows // 3, n)]
        log(n, ids, request_id=f"batch-{len(sink.chunks)}", source="batch")
        left -= n
    for i in range(singles):
        customer = None if rng.random() < 0.3 else f"C{int(rng.integers(0, rows // 3))}"
        log(1, [customer], request_id=f"s-{i}", source="single")
    upgrade_database(url)
    writer = PredictionLogWriter(create_db_engine(url), max_rows=rows + 1, retention_days=3_650)
    writer.start()
    for chunk in sorted(sink.chunks, key=lambda chunk: chunk.created_at):
        writer.submit(chunk)
    writer.flush(timeout=600)
    writer.stop()
    return writer.written


def _timed(work: Callable[[], object]) -> tuple[float, float]:
    """Best CPU and best wall seconds of REPEAT calls, after one to warm up."""
    work()
    cpu, wall = [], []
    for _ in range(REPEAT):
        started, started_cpu = time.perf_counter(), time.process_time()
        work()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return min(cpu), min(wall)


def measure(url: str, model: SegmentationModel, now: datetime) -> dict[str, tuple[float, float]]:
    """(CPU, wall) seconds of the day series, the hour series and one drift evaluation of the log at `url`."""
    engine = create_db_engine(url)
    sessions = session_factory(engine)

    def series(bucket: str) -> Callable[[], object]:
        def work() -> object:
            with sessions() as session:
                return timeseries(session, model, bucket=bucket, now=now)

        return work

    def evaluation() -> object:
        # What the evaluator computes each tick: the last 24 hours' window and its report.
        with sessions() as session:
            window = time_window(session, model_version=model.version, since=now - DEFAULT_SPAN, until=now)
            return drift_report(model, window)

    # The collector tuned as the server tunes it (frozen start-up objects, young ones collected less often): with
    # Python's defaults, collections triggered by the rows read took half of an all-per-row series.
    try:
        with tuned_gc():
            return {"day": _timed(series("day")), "hour": _timed(series("hour")), "drift": _timed(evaluation)}
    finally:
        engine.dispose()


def bench_monitoring(mode: str, model: SegmentationModel, workdir: Path) -> list[dict[str, Any]]:
    """The figures of one run (see the module's docstring)."""
    rows = ROWS[mode]
    now = datetime.now(UTC).replace(microsecond=0)
    url = f"sqlite:///{workdir / 'monitoring.sqlite3'}"
    written = fill_log(url, model, rows=rows, now=now)
    found = measure(url, model, now)
    figures = []
    for key, name in (
        ("day", f"over-time series (day buckets) of {written:,} logged rows"),
        ("hour", f"over-time series (hour buckets) of {written:,} logged rows"),
        ("drift", f"drift evaluation (24 h window and report) of {written:,} logged rows"),
    ):
        cpu, wall = found[key]
        figures.append(
            {
                "name": name,
                "unit": "s",
                "project": cpu,
                "baseline": None,
                "ratio": None,
                "goal": f"< {GOAL_SECONDS} s",
                "met": cpu < GOAL_SECONDS,
                "note": f"CPU time, best of {REPEAT}; wall {wall:.3f} s; SQLite, {SINGLE_SHARE:.0%} single predictions",
            }
        )
    return figures


if __name__ == "__main__":
    import tempfile

    from app.models.synthetic import write_customers
    from app.models.training import train
    from app.models.versions.store import load_model

    with tempfile.TemporaryDirectory(prefix="bench-monitoring-") as folder:
        workdir = Path(folder)
        train(write_customers(workdir / "mall_customers.csv"), output_dir=workdir / "models_artifacts")
        ROWS["full"] = int(sys.argv[1]) if len(sys.argv) > 1 else ROWS["full"]
        for figure in bench_monitoring("full", load_model(workdir / "models_artifacts"), workdir):
            print(f"{figure['name']}: {figure['project']:.3f} s CPU ({figure['note']})")
