"""Benchmarks: every figure is a ratio against a baseline measured in the same run, on this machine.

python benchmarks/run.py            full run (under 10 minutes on 2 cores)
python benchmarks/run.py --quick    smaller sizes and shorter loads (under 2 minutes)
python benchmarks/run.py --dry-run  tiny sizes, to check that every benchmark still runs
python benchmarks/run.py --only dask --only dask_training   the heavy Dask figures, which a plain run leaves out

Prints a table (figure, project, baseline, ratio, goal) and writes benchmarks/results/latest.json.
A ratio above 1 means the project beats its baseline: baseline/project for times and memory,
project/baseline for throughput.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.metrics import silhouette_score  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from app.core.config import Settings  # noqa: E402
from app.core.metrics import configure_metrics  # noqa: E402
from app.models import clustering  # noqa: E402
from app.models.synthetic import generate_customers, write_customers  # noqa: E402
from app.models.training import fit_model, train  # noqa: E402
from app.models.versions.store import load_model  # noqa: E402
from app.services import prediction  # noqa: E402
from benchmarks import challenger as challenger_bench  # noqa: E402
from benchmarks import counterfactual as counterfactual_bench  # noqa: E402
from benchmarks import dask_scoring as dask_bench  # noqa: E402
from benchmarks import dask_training as dask_training_bench  # noqa: E402
from benchmarks import http_bench  # noqa: E402
from benchmarks import lifecycle as lifecycle_bench  # noqa: E402
from benchmarks import monitoring as monitoring_bench  # noqa: E402
from benchmarks import reports as report_bench  # noqa: E402
from benchmarks import rfm as rfm_bench  # noqa: E402
from benchmarks import rfm_batch as rfm_batch_bench  # noqa: E402
from benchmarks import runs as runs_bench  # noqa: E402
from benchmarks import scoring as file_scoring  # noqa: E402
from benchmarks import segmentations as segmentation_bench  # noqa: E402
from benchmarks import startup as startup_bench  # noqa: E402
from benchmarks.http_bench import Comparison, alternate, compare_load  # noqa: E402
from benchmarks.loadgen import run_load  # noqa: E402
from tests.live_server import live_server  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
FEATURES = ["annual_income", "spending_score"]


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark is in one mode."""

    batch_rows: int
    http_seconds: float
    http_rounds: int
    train_rows: int
    predictions_for_rss: int
    startup_runs: int
    score_rows: int
    http_score_rows: int


MODES = {
    "full": Sizes(1_000_000, 10, 2, 1_000_000, 1_000, 3, 5_000_000, 1_000_000),
    "quick": Sizes(1_000_000, 3, 1, 300_000, 1_000, 2, 500_000, 300_000),
    "dry-run": Sizes(2_000, 0.2, 1, 2_000, 20, 1, 2_000, 2_000),
}


@dataclass
class Figure:
    """One row of the results table."""

    name: str
    unit: str
    project: float
    baseline: float | None
    ratio: float | None
    goal: str
    met: bool | None
    note: str = ""


def _best(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of `repeat` calls (the least disturbed by other load)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def _per_call(fn: Callable[[], object], calls: int, repeat: int = 5) -> float:
    """Median seconds per call over `repeat` timed loops of `calls` calls."""
    loops = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        loops.append((time.perf_counter() - started) / calls)
    return statistics.median(loops)


def bench_single_predict(model, sizes: Sizes) -> list[Figure]:
    """1. One row in process: the project's predict path against kmeans.predict(scaler.transform(x))."""
    x = np.array([[60.0, 50.0]])
    # The service counts each prediction as a one-process server does: metrics set up, in memory.
    configure_metrics(Settings(_env_file=None, prometheus_multiproc_dir=None))
    sklearn_s = _per_call(
        lambda: model.kmeans.predict(model.scaler.transform(x)), 200 if sizes.batch_rows > 50_000 else 20
    )
    project_s = _per_call(lambda: model.predict_one([60.0, 50.0]), 20_000 if sizes.batch_rows > 50_000 else 200)
    # Answered and counted, as a route does (no prediction log: this figure is the service, not the writer).
    service_s = _per_call(
        lambda: prediction.predict_customer(model, {"annual_income": 60.0, "spending_score": 50.0}).record(
            log=None, request_id=None
        ),
        20_000 if sizes.batch_rows > 50_000 else 200,
    )
    ratio = sklearn_s / project_s
    return [
        Figure("single-row predict latency", "us", project_s * 1e6, sklearn_s * 1e6, ratio, "ratio >= 50", ratio >= 50),
        Figure(
            "single-row predict + advice (service) latency",
            "us",
            service_s * 1e6,
            sklearn_s * 1e6,
            sklearn_s / service_s,
            "",
            None,
            "segment, distances, confidence, runner-up, atypical flag",
        ),
    ]


def bench_batch_predict(model, sizes: Sizes) -> list[Figure]:
    """2. Many rows in process: project labels against sklearn's labels, and project predict with every distance."""
    X = np.random.default_rng(0).uniform([0, 1], [150, 100], (sizes.batch_rows, 2))
    sklearn_s = _best(lambda: model.kmeans.predict(model.scaler.transform(X)), 5)
    labels_s = _best(lambda: model.labels(X), 5)
    predict_s = _best(lambda: model.predict(X), 5)
    ratio = sklearn_s / labels_s
    return [
        Figure(
            f"batch labels {sizes.batch_rows:,} rows",
            "rows/s",
            sizes.batch_rows / labels_s,
            sizes.batch_rows / sklearn_s,
            ratio,
            "ratio >= 1.0",
            ratio >= 1.0,
            "like for like: both return labels only",
        ),
        Figure(
            f"batch predict {sizes.batch_rows:,} rows",
            "rows/s",
            sizes.batch_rows / predict_s,
            sizes.batch_rows / sklearn_s,
            sklearn_s / predict_s,
            "",
            None,
            "project also returns every distance (a fresh (n, k) table)",
        ),
    ]


def bench_segmentation_http(model_dir: Path, sizes: Sizes, workdir: Path) -> list[Figure]:
    """A 3-feature segmentation's predict route against default's, one quiet server, loads taken in turns."""
    folder = workdir / "with-segmentation"
    shutil.copytree(model_dir, folder)
    segmentation_bench.add_loyalty(folder, workdir)
    env = {
        "MODEL_DIR": str(folder),
        "AUTO_TRAIN": "false",
        "RATE_LIMIT_PREDICT": "10000000/minute",
        "LOG_LEVEL": "WARNING",
    }
    with live_server(env, workdir / "segmentation.log") as server:
        runs = alternate(
            sizes.http_rounds,
            lambda: run_load(
                server.url + "/api/v1/segmentations/loyalty/predict",
                segmentation_bench.LOYALTY_BODY,
                connections=16,
                seconds=sizes.http_seconds,
            ),
            lambda: run_load(
                server.url + "/api/v1/predict",
                segmentation_bench.DEFAULT_BODY,
                connections=16,
                seconds=sizes.http_seconds,
            ),
        )
    comparison = Comparison(*runs)
    rps, default_rps = comparison.rates
    return [
        Figure(
            "HTTP predict, 3-feature segmentation vs default",
            "req/s",
            rps,
            default_rps,
            rps / default_rps,
            "ratio >= 0.9",
            rps / default_rps >= 0.9,
            f"/segmentations/loyalty/predict (income, visits, tenure; log1p) against /predict on the same server; "
            f"{comparison.errors} errors",
        )
    ]


def bench_challenger(model_dir: Path, sizes: Sizes, workdir: Path) -> list[Figure]:
    """HTTP predict with a shadow challenger (both versions score, both logged) against no challenger, in turns."""
    shadow_dir, plain_dir = challenger_bench.with_and_without_challenger(
        model_dir, workdir / "mall_customers.csv", workdir
    )
    env = {"AUTO_TRAIN": "false", "RATE_LIMIT_PREDICT": "10000000/minute", "LOG_LEVEL": "WARNING"}
    with (
        live_server({**env, "MODEL_DIR": str(shadow_dir)}, workdir / "shadow.log") as shadow,
        live_server({**env, "MODEL_DIR": str(plain_dir)}, workdir / "plain-champion.log") as plain,
    ):
        comparison = compare_load(sizes, shadow, plain, "/api/v1/predict", challenger_bench.BODY, 16)
    rps, plain_rps = comparison.rates
    return [
        Figure(
            "HTTP predict, shadow challenger",
            "req/s",
            rps,
            plain_rps,
            rps / plain_rps,
            "ratio >= 0.8",
            rps / plain_rps >= 0.8,
            "both versions score every request and both are logged (SQLite); baseline: the same folder without a "
            f"challenger; {comparison.errors} errors",
        )
    ]


def bench_training(sizes: Sizes) -> list[Figure]:
    """6. Training at scale: the project's pipeline against sklearn with the same settings on the same data."""
    frame = generate_customers(sizes.train_rows, seed=7)
    X = frame[["Annual Income (k$)", "Spending Score (1-100)"]].to_numpy(dtype=float)

    def sklearn_fit() -> None:
        Z = StandardScaler().fit_transform(X)
        KMeans(n_clusters=5, init="k-means++", n_init=clustering.N_INIT, random_state=42).fit(Z)

    def sklearn_sweep() -> None:
        Z = StandardScaler().fit_transform(X)
        for k in clustering.K_RANGE:
            labels = KMeans(n_clusters=k, init="k-means++", n_init=clustering.N_INIT, random_state=42).fit_predict(Z)
            silhouette_score(Z, labels, sample_size=min(len(Z), clustering.SILHOUETTE_SAMPLE_SIZE), random_state=42)

    fit_s, sk_fit_s = _best(lambda: fit_model(X, FEATURES, k=5), 1), _best(sklearn_fit, 1)
    auto_model = None

    def project_auto() -> None:
        nonlocal auto_model
        auto_model = fit_model(X, FEATURES, k="auto")

    auto_s, sk_auto_s = _best(project_auto, 1), _best(sklearn_sweep, 1)
    sample = auto_model.info["metrics"]["silhouette_sample_size"]
    rows = f"{sizes.train_rows:,} rows"
    return [
        Figure(
            f"train k=5 on {rows}",
            "s",
            fit_s,
            sk_fit_s,
            sk_fit_s / fit_s,
            "< 15 s",
            fit_s < 15,
            "project also sweeps k=2..10 (sampled), names segments, computes 4 metrics",
        ),
        Figure(
            f"train --k auto on {rows}",
            "s",
            auto_s,
            sk_auto_s,
            sk_auto_s / auto_s,
            "< 90 s",
            auto_s < 90,
            f"chose k={auto_model.n_clusters}; silhouette sample {sample:,} rows; "
            f"k sweep on {auto_model.info['k_selection_sample_size']:,} rows; baseline sweeps all rows",
        ),
    ]


def _machine() -> dict[str, str | int]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        cpu = next(
            (line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line), cpu
        )
    return {
        "cores": os.cpu_count() or 0,
        "cpu": cpu,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
    }


def _format(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit in {"rows/s", "customers/s", "req/s"}:
        return f"{value:,.0f}"
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def table(figures: list[Figure]) -> str:
    """The results as a Markdown table."""
    lines = ["| figure | unit | project | baseline | ratio | goal | met |", "|---|---|---|---|---|---|---|"]
    for f in figures:
        met = "" if f.met is None else ("yes" if f.met else "**no**")
        ratio = "-" if f.ratio is None else f"{f.ratio:.2f}"
        project, baseline = _format(f.project, f.unit), _format(f.baseline, f.unit)
        lines.append(f"| {f.name} | {f.unit} | {project} | {baseline} | {ratio} | {f.goal} | {met} |")
    return "\n".join(lines)


STEPS = (
    "predict",
    "batch",
    "http",
    "segmentation_http",
    "challenger",
    "prediction_log",
    "metrics",
    "startup",
    "scoring",
    "training",
    "lifecycle",
    "rfm",
    "rfm_batch",
    "report",
    "counterfactual",
    "runs",
    "monitoring",
    "dask",
    "dask_training",
)
# Heavy figures (minutes to tens of minutes on 2 cores) run only when named: `--only dask`, `--only dask_training`.
OPT_IN = {"dask", "dask_training"}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="smaller sizes, under 2 minutes")
    group.add_argument("--dry-run", action="store_true", help="tiny sizes: check that everything runs")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument("--only", choices=sorted(STEPS), action="append", help="run only these benchmarks")
    args = parser.parse_args(argv)
    mode = "dry-run" if args.dry_run else "quick" if args.quick else "full"
    sizes = MODES[mode]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        workdir = Path(folder)
        data = write_customers(workdir / "mall_customers.csv")
        model_dir = workdir / "models_artifacts"
        train(data, output_dir=model_dir)
        model = load_model(model_dir)
        figures: list[Figure] = []
        steps = {
            "predict": lambda: bench_single_predict(model, sizes),
            "batch": lambda: bench_batch_predict(model, sizes),
            "http": lambda: [Figure(**fields) for fields in http_bench.bench_http(model_dir, sizes, workdir)],
            "segmentation_http": lambda: bench_segmentation_http(model_dir, sizes, workdir),
            "challenger": lambda: bench_challenger(model_dir, sizes, workdir),
            "prediction_log": lambda: [Figure(**f) for f in http_bench.bench_prediction_log(model_dir, sizes, workdir)],
            "metrics": lambda: [Figure(**f) for f in http_bench.bench_metrics_mode(model_dir, sizes, workdir)],
            "startup": lambda: [Figure(**fields) for fields in startup_bench.bench_startup(model_dir, sizes, workdir)],
            "scoring": lambda: [
                Figure(**fields)
                for fields in file_scoring.bench_file_scoring(
                    model_dir, sizes.score_rows, sizes.http_score_rows, workdir
                )
            ],
            "training": lambda: bench_training(sizes),
            "lifecycle": lambda: [Figure(**f) for f in lifecycle_bench.bench_lifecycle(model_dir, sizes, workdir)],
            "rfm": lambda: [Figure(**fields) for fields in rfm_bench.bench_rfm(mode, workdir)],
            "rfm_batch": lambda: [Figure(**fields) for fields in rfm_batch_bench.bench_rfm_batch(mode)],
            "report": lambda: [Figure(**fields) for fields in report_bench.bench_report(mode, workdir, data)],
            "counterfactual": lambda: [
                Figure(**fields) for fields in counterfactual_bench.bench_counterfactual(mode, workdir)
            ],
            "runs": lambda: [Figure(**fields) for fields in runs_bench.bench_runs(mode, model_dir, workdir)],
            "monitoring": lambda: [
                Figure(**f)
                for f in monitoring_bench.bench_monitoring(
                    mode, model, monitoring_bench.training_data(model, data), workdir
                )
            ],
            "dask": lambda: [Figure(**fields) for fields in dask_bench.bench_dask(mode, model_dir, workdir)],
            "dask_training": lambda: [Figure(**f) for f in dask_training_bench.bench_dask_training(mode, workdir)],
        }
        for name, step in steps.items():
            if (args.only and name not in args.only) or (not args.only and name in OPT_IN):
                continue
            figures += step()
            print(f"... {figures[-1].name} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    report = {
        "mode": mode,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "machine": _machine(),
        "figures": [asdict(f) for f in figures],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    machine = report["machine"]
    print(f"\n{mode} run on {machine['cores']} cores, {machine['cpu']}, in {report['seconds']} s\n")
    print(table(figures))
    print(f"\nresults written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
