"""Monitoring over a large prediction log: the over-time series and one drift evaluation, against the same questions
asked of a plain table, in this process.

The log (SQLite) is written as the service writes it: batches of 50 to 5,000 rows, ids on nine in ten and customers
coming back, stored as `prediction_chunks` rows, and a tenth of the rows single predictions, a row each in
`prediction_log`; all within the last 24 hours, so the evaluator's window and the series read every row.

The baseline is what a team logging its own predictions would write instead: the same predictions a row each in a
plain SQLite table indexed on time (time as ISO text, customer id, segment id, one column per feature, the two
flags). For a series, one `GROUP BY` of bucket (a prefix of the time) and segment, counting rows, distinct customers
and flags. For drift, the window read with `pandas.read_sql_query`, each customer's latest row kept, then
`scipy.stats.ks_2samp` of each feature against the training data, a chi-squared test of the segment mix against
the training mix and the two rates. The service answers more (each customer once per bucket, stored checks beside
the series; PSI, Wasserstein and advice in the report): the baseline is the least a user would compute.

Each figure is the best CPU time of a few calls (both run in this process, SQLite included), wall time in its note.
The ratio is the baseline's CPU time over the service's.

python benchmarks/monitoring.py [ROWS]   the figures alone (200,000 rows by default)
"""

import sqlite3
import sys
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from app.services.monitoring.timeseries import BUCKETS, DEFAULT_BUCKETS, timeseries  # noqa: E402
from app.services.monitoring.windows import DEFAULT_SPAN, time_window  # noqa: E402
from app.utils.memory import tuned_gc  # noqa: E402
from tests.log_chunks import ChunkList  # noqa: E402

if TYPE_CHECKING:
    import pandas as pd

ROWS = {"full": 200_000, "quick": 200_000, "dry-run": 2_000}
SINGLE_SHARE = 0.1
# The service answers more than the baseline from a log kept for more, and still costs no more than it.
GOAL_RATIO = 1.0
REPEAT = 3
# The characters of an ISO time that name its hour or day: the plain table's buckets.
_PREFIX = {"hour": 13, "day": 10}


def build_chunks(model: SegmentationModel, *, rows: int, now: datetime, seed: int = 0) -> list[LogChunk]:
    """`rows` predictions of `model` as the service would have logged them over the day to `now`, oldest first."""
    rng = np.random.default_rng(seed)
    sink = ChunkList()
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
    return sorted(sink.chunks, key=lambda chunk: chunk.created_at)


def fill_log(url: str, chunks: list[LogChunk]) -> int:
    """Write `chunks` to the service's log at `url` through its writer, in the order they were answered."""
    upgrade_database(url)
    rows = sum(len(chunk) for chunk in chunks)
    writer = PredictionLogWriter(create_db_engine(url), max_rows=rows + 1, retention_days=3_650)
    writer.start()
    for chunk in chunks:
        writer.submit(chunk)
    writer.flush(timeout=600)
    writer.stop()
    return writer.written


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def fill_plain(path: Path, chunks: list[LogChunk], features: list[str]) -> None:
    """The same predictions a row each in a plain table, as a team logging its own would keep them."""
    columns = ", ".join(f"{name} REAL" for name in features)
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute(
            f"CREATE TABLE predictions (created_at TEXT NOT NULL, customer_id TEXT, segment_id INTEGER NOT NULL, "
            f"{columns}, atypical INTEGER NOT NULL, out_of_range INTEGER NOT NULL)"
        )
        connection.execute("CREATE INDEX predictions_created_at ON predictions (created_at)")
        marks = ", ".join("?" * (len(features) + 5))
        for chunk in chunks:
            ids = chunk.customer_ids if chunk.customer_ids is not None else [None] * len(chunk)
            rows = zip(
                [_iso(chunk.created_at)] * len(chunk),
                ids,
                np.asarray(chunk.segment_ids).tolist(),
                *np.asarray(chunk.inputs, dtype=float).T.tolist(),
                np.asarray(chunk.atypical, dtype=int).tolist(),
                np.asarray(chunk.out_of_range, dtype=int).tolist(),
                strict=True,
            )
            connection.executemany(f"INSERT INTO predictions VALUES ({marks})", rows)


def plain_series(connection: sqlite3.Connection, bucket: str, since: datetime, until: datetime) -> list[tuple]:
    """Per bucket and segment: predictions, distinct customers, atypical and out-of-range counts."""
    return connection.execute(
        f"SELECT substr(created_at, 1, {_PREFIX[bucket]}) AS bucket, segment_id, COUNT(*), "
        "COUNT(DISTINCT customer_id), SUM(atypical), SUM(out_of_range) FROM predictions "
        "WHERE created_at BETWEEN ? AND ? GROUP BY bucket, segment_id",
        (_iso(since), _iso(until)),
    ).fetchall()


def plain_drift(
    connection: sqlite3.Connection,
    features: list[str],
    training: np.ndarray,
    training_mix: "pd.Series",
    since: datetime,
    until: datetime,
) -> dict[str, Any]:
    """Each feature's KS test against the training data, the segment mix's chi-squared test against the training
    mix (`training_mix`: each segment id's share) and the two rates, over the window's customers (each once)."""
    import pandas as pd
    from scipy.stats import chisquare, ks_2samp

    frame = pd.read_sql_query(
        f"SELECT customer_id, segment_id, {', '.join(features)}, atypical, out_of_range FROM predictions "
        "WHERE created_at BETWEEN ? AND ? ORDER BY created_at DESC",
        connection,
        params=(_iso(since), _iso(until)),
    )
    frame = frame[frame["customer_id"].isna() | ~frame["customer_id"].duplicated()]
    tests = {name: ks_2samp(training[:, i], frame[name].to_numpy()) for i, name in enumerate(features)}
    observed = frame["segment_id"].value_counts().reindex(training_mix.index, fill_value=0)
    return {
        "features": tests,
        "mix": chisquare(observed, training_mix.to_numpy() * observed.sum()),
        "rates": frame[["atypical", "out_of_range"]].mean(),
    }


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


def measure_plain(path: Path, model: SegmentationModel, training: np.ndarray, now: datetime) -> dict[str, tuple]:
    """(CPU, wall) seconds of the baseline's questions over the same span as each of the service's."""
    import pandas as pd

    with closing(sqlite3.connect(path)) as connection:

        def series(bucket: str) -> Callable[[], object]:
            since = now - DEFAULT_BUCKETS[bucket] * BUCKETS[bucket]
            return lambda: plain_series(connection, bucket, since, now)

        # What the team has from training: each segment's share of the training customers.
        segment_ids = np.array([segment.segment_id for segment in model.segments])[model.score(training).positions]
        mix = pd.Series(segment_ids).value_counts(normalize=True).sort_index()

        def evaluation() -> object:
            return plain_drift(connection, list(model.features), training, mix, now - DEFAULT_SPAN, now)

        return {"day": _timed(series("day")), "hour": _timed(series("hour")), "drift": _timed(evaluation)}


def bench_monitoring(mode: str, model: SegmentationModel, training: np.ndarray, workdir: Path) -> list[dict[str, Any]]:
    """The figures of one run (see the module's docstring); `training` is the data `model` was trained on."""
    now = datetime.now(UTC).replace(microsecond=0)
    chunks = build_chunks(model, rows=ROWS[mode], now=now)
    written = fill_log(f"sqlite:///{workdir / 'monitoring.sqlite3'}", chunks)
    fill_plain(workdir / "plain.sqlite3", chunks, list(model.features))
    found = measure(f"sqlite:///{workdir / 'monitoring.sqlite3'}", model, now)
    plain = measure_plain(workdir / "plain.sqlite3", model, training, now)
    figures = []
    for key, name in (
        ("day", f"over-time series (day buckets) of {written:,} logged rows"),
        ("hour", f"over-time series (hour buckets) of {written:,} logged rows"),
        ("drift", f"drift evaluation (24 h window and report) of {written:,} logged rows"),
    ):
        (cpu, wall), (baseline, baseline_wall) = found[key], plain[key]
        figures.append(
            {
                "name": name,
                "unit": "s",
                "project": cpu,
                "baseline": baseline,
                "ratio": baseline / cpu,
                "goal": f">= {GOAL_RATIO}x the plain table's query",
                "met": baseline / cpu >= GOAL_RATIO,
                "note": (
                    f"CPU time, best of {REPEAT}; wall {wall:.3f} s against {baseline_wall:.3f} s; SQLite, "
                    f"{SINGLE_SHARE:.0%} single predictions"
                ),
            }
        )
    return figures


def training_data(model: SegmentationModel, path: Path) -> np.ndarray:
    """The features of the CSV `model` was trained on, in its order."""
    import pandas as pd

    frame = pd.read_csv(path)
    return frame[[spec.source_column for spec in model.feature_specs]].to_numpy(dtype=float)


if __name__ == "__main__":
    import tempfile

    from app.models.synthetic import write_customers
    from app.models.training import train
    from app.models.versions.store import load_model

    with tempfile.TemporaryDirectory(prefix="bench-monitoring-") as folder:
        workdir = Path(folder)
        train(write_customers(workdir / "mall_customers.csv"), output_dir=workdir / "models_artifacts")
        ROWS["full"] = int(sys.argv[1]) if len(sys.argv) > 1 else ROWS["full"]
        model = load_model(workdir / "models_artifacts")
        training = training_data(model, workdir / "mall_customers.csv")
        for figure in bench_monitoring("full", model, training, workdir):
            print(f"{figure['name']}: {figure['project']:.3f} s CPU, {figure['ratio']:.2f}x ({figure['note']})")
