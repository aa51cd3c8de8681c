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
import http.client
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import joblib  # noqa: E402
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
from app.models.versions.store import VersionStore, load_model  # noqa: E402
from app.services import prediction  # noqa: E402
from benchmarks import challenger as challenger_bench  # noqa: E402
from benchmarks import counterfactual as counterfactual_bench  # noqa: E402
from benchmarks import dask_scoring as dask_bench  # noqa: E402
from benchmarks import dask_training as dask_training_bench  # noqa: E402
from benchmarks import http_bench  # noqa: E402
from benchmarks import reports as report_bench  # noqa: E402
from benchmarks import rfm as rfm_bench  # noqa: E402
from benchmarks import runs as runs_bench  # noqa: E402
from benchmarks import scoring as file_scoring  # noqa: E402
from benchmarks import segmentations as segmentation_bench  # noqa: E402
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


def bench_prediction_log(model_dir: Path, sizes: Sizes, workdir: Path) -> list[Figure]:
    """6. The app with the prediction log on (SQLite, default settings) against the same app with it off."""
    single = json.dumps({"annual_income": 60, "spending_score": 50}).encode()
    customers = np.random.default_rng(3).uniform([0, 1], [150, 100], (10_000, 2)).round(1).tolist()
    batch = json.dumps({"customers": [{"annual_income": a, "spending_score": s} for a, s in customers]}).encode()
    env = {"MODEL_DIR": str(model_dir), "AUTO_TRAIN": "false", "LOG_LEVEL": "WARNING"}
    with (
        # live_server points DATABASE_URL at a SQLite file beside the server log: the default kind of database.
        live_server(env, workdir / "log-on.log") as on,
        live_server({**env, "PREDICTION_LOG_ENABLED": "false"}, workdir / "log-off.log") as off,
    ):
        singles = compare_load(sizes, on, off, "/api/v1/predict", single, 16)
        batches = compare_load(sizes, on, off, "/api/v1/predict/batch", batch, 2)
    rps_on, rps_off = singles.rates
    p99_on, p99_off = (statistics.median(r.p99_ms for r in runs) for runs in (singles.project, singles.baseline))
    batch_on_rate, batch_off_rate = (rate * 10_000 for rate in batches.rates)
    errors = singles.errors + batches.errors
    return [
        Figure(
            "HTTP predict p99 latency, prediction log on",
            "ms",
            p99_on,
            p99_off,
            None,
            "",
            None,
            "the same runs, 16 connections, median of the runs' p99; baseline: the log off. The writer's encoding "
            "once held the event loop back for ~25 ms a flush (p99 ~20 ms against ~3 ms)",
        ),
        Figure(
            "HTTP predict, prediction log on",
            "req/s",
            rps_on,
            rps_off,
            rps_on / rps_off,
            "ratio >= 0.85",
            rps_on / rps_off >= 0.85,
            f"baseline: the same app with PREDICTION_LOG_ENABLED=false; SQLite; {errors} errors",
        ),
        Figure(
            "HTTP batch of 10,000, prediction log on",
            "customers/s",
            batch_on_rate,
            batch_off_rate,
            batch_on_rate / batch_off_rate,
            "ratio >= 0.8",
            batch_on_rate / batch_off_rate >= 0.8,
            "baseline: the same app with the log off; rows past the bounded queue are dropped and counted",
        ),
    ]


def bench_metrics_mode(model_dir: Path, sizes: Sizes, workdir: Path) -> list[Figure]:
    """What multiprocess metrics cost a request: one worker counting into a shared folder against in memory."""
    single = json.dumps({"annual_income": 60, "spending_score": 50}).encode()
    env = {"MODEL_DIR": str(model_dir), "AUTO_TRAIN": "false", "LOG_LEVEL": "WARNING"}
    # Empty means none, even when the shell running the benchmark sets a folder.
    shared_env, plain_env = ({**env, "PROMETHEUS_MULTIPROC_DIR": folder} for folder in (str(workdir / "metrics"), ""))
    with (
        live_server(shared_env, workdir / "metrics-shared.log") as shared,
        live_server(plain_env, workdir / "metrics-plain.log") as plain,
    ):
        singles = compare_load(sizes, shared, plain, "/api/v1/predict", single, 16)
    rps, plain_rps = singles.rates
    return [
        Figure(
            "HTTP predict, multiprocess metrics",
            "req/s",
            rps,
            plain_rps,
            rps / plain_rps,
            "ratio >= 0.9",
            rps / plain_rps >= 0.9,
            f"one worker counting into a PROMETHEUS_MULTIPROC_DIR folder (what --workers N gets) against the same "
            f"app counting in memory; both quiet; {singles.errors} errors",
        )
    ]


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def _post_many(url: str, count: int) -> None:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    rng = np.random.default_rng(2)
    for income, score in rng.uniform([0, 1], [150, 100], (count, 2)).tolist():
        body = json.dumps({"annual_income": income, "spending_score": score})
        connection.request("POST", "/api/v1/predict", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"prediction failed with {response.status}")
    connection.close()


def _import_seconds(module: str, runs: int) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    results = []
    for _ in range(runs):
        output = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
        results.append(float(output.stdout.strip()))
    return statistics.median(results)


def bench_startup(model_dir: Path, sizes: Sizes, workdir: Path) -> list[Figure]:
    """5. Start-up to health 200, model load, imports, and peak memory after predictions."""
    env = {
        "MODEL_DIR": str(model_dir),
        "AUTO_TRAIN": "false",
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_PREDICT": "10000000/minute",
    }
    ready, bare_ready, rss, bare_rss = [], [], [], []
    for run in range(sizes.startup_runs):
        with live_server(env, workdir / f"start-{run}.log") as server:
            ready.append(server.ready_seconds)
            _post_many(server.url, sizes.predictions_for_rss)
            rss.append(_peak_rss_mb(server.pid))
        with live_server(env, workdir / f"bare-{run}.log", app="benchmarks.bare_app:app") as server:
            bare_ready.append(server.ready_seconds)
            _post_many(server.url, sizes.predictions_for_rss)
            bare_rss.append(_peak_rss_mb(server.pid))
    load_s = _best(lambda: load_model(model_dir), 5)
    # The obvious alternative: unpickle both estimators (scikit-learn is already imported here, which flatters it).
    version_dir = model_dir / VersionStore(model_dir).active_version()
    unpickle_s = _best(
        lambda: (joblib.load(version_dir / "kmeans_model.pkl"), joblib.load(version_dir / "scaler.pkl")), 5
    )
    imports = _import_seconds("main", sizes.startup_runs + 1)
    bare_imports = _import_seconds("benchmarks.bare_app", sizes.startup_runs + 1)
    ready_s, bare_ready_s = statistics.median(ready), statistics.median(bare_ready)
    rss_mb, bare_rss_mb = statistics.median(rss), statistics.median(bare_rss)
    return [
        Figure("start-up to health 200", "s", ready_s, bare_ready_s, bare_ready_s / ready_s, "< 3 s", ready_s < 3),
        Figure(
            "model load (verify checksums + read parameters)",
            "s",
            load_s,
            unpickle_s,
            unpickle_s / load_s,
            "< 0.5 s",
            load_s < 0.5,
            "baseline: joblib.load of both pickles",
        ),
        Figure("imports (import main)", "s", imports, bare_imports, bare_imports / imports, "", None),
        Figure(
            f"peak RSS after {sizes.predictions_for_rss:,} predictions",
            "MB",
            rss_mb,
            bare_rss_mb,
            bare_rss_mb / rss_mb,
            "<= 150 MB",
            rss_mb <= 150,
            "one uvicorn worker",
        ),
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


def _multipart(path: Path) -> tuple[bytes, str]:
    boundary = "benchboundary7d3f"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + path.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def _api_job(url: str, key: str, body: bytes, content_type: str) -> float:
    """Seconds from the upload to the job's success (polled every 50 ms)."""
    started = time.perf_counter()
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=600)
    connection.request("POST", "/api/v1/models", body, {"Content-Type": content_type, "X-API-Key": key})
    response = connection.getresponse()
    assert response.status == 202, response.read()[:500]
    location = response.getheader("Location")
    response.read()
    while True:
        connection.request("GET", location)
        job = json.loads(connection.getresponse().read())
        if job["state"] == "succeeded":
            return time.perf_counter() - started
        if job["state"] == "failed":
            raise RuntimeError(job["error"])
        time.sleep(0.05)


def bench_lifecycle(model_dir: Path, sizes: Sizes, workdir: Path) -> list[Figure]:
    """7. Training from the API against the CLI on the same file, and serving while a job runs."""
    data = write_customers(workdir / "lifecycle.csv", rows=sizes.train_rows, seed=9)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "train_model.py", "--data", str(data), "--output-dir", str(workdir / "cli-models"), "--quiet"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    cli_s = time.perf_counter() - started
    root = workdir / "api-models"
    shutil.copytree(model_dir, root)
    key = "bench-admin-key"
    env = {"MODEL_DIR": str(root), "AUTO_TRAIN": "false", "ADMIN_API_KEYS": key, "TRAIN_MAX_UPLOAD_BYTES": "1000000000"}
    single = json.dumps({"annual_income": 60, "spending_score": 50}).encode()
    body, content_type = _multipart(data)
    with live_server(env, workdir / "lifecycle.log") as server:
        api_s = _api_job(server.url, key, body, content_type)
        idle = run_load(server.url + "/api/v1/predict", single, connections=16, seconds=sizes.http_seconds)
        job = threading.Thread(target=_api_job, args=(server.url, key, body, content_type))
        job.start()
        time.sleep(min(1.0, api_s / 4))  # upload done and the trainer busy
        busy = run_load(server.url + "/api/v1/predict", single, connections=16, seconds=sizes.http_seconds)
        job.join()
    ratio = busy.requests_per_second / idle.requests_per_second
    return [
        Figure(
            f"API training job on {sizes.train_rows:,} rows",
            "s",
            api_s,
            cli_s,
            cli_s / api_s,
            "<= 1.5x the CLI",
            api_s <= 1.5 * cli_s,
            "baseline: python train_model.py on the same file; the job includes the upload and polling",
        ),
        Figure(
            "HTTP predict throughput during a training job",
            "req/s",
            busy.requests_per_second,
            idle.requests_per_second,
            ratio,
            "ratio >= 0.7",
            ratio >= 0.7,
            f"baseline: the same server idle; {busy.errors + idle.errors} errors",
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
    "report",
    "counterfactual",
    "runs",
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
            "prediction_log": lambda: bench_prediction_log(model_dir, sizes, workdir),
            "metrics": lambda: bench_metrics_mode(model_dir, sizes, workdir),
            "startup": lambda: bench_startup(model_dir, sizes, workdir),
            "scoring": lambda: [
                Figure(**fields)
                for fields in file_scoring.bench_file_scoring(
                    model_dir, sizes.score_rows, sizes.http_score_rows, workdir
                )
            ],
            "training": lambda: bench_training(sizes),
            "lifecycle": lambda: bench_lifecycle(model_dir, sizes, workdir),
            "rfm": lambda: [Figure(**fields) for fields in rfm_bench.bench_rfm(mode, workdir)],
            "report": lambda: [Figure(**fields) for fields in report_bench.bench_report(mode, workdir, data)],
            "counterfactual": lambda: [
                Figure(**fields) for fields in counterfactual_bench.bench_counterfactual(mode, workdir)
            ],
            "runs": lambda: [Figure(**fields) for fields in runs_bench.bench_runs(mode, model_dir, workdir)],
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
