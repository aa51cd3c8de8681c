"""Load and fault suite against real uvicorn servers on 127.0.0.1; every loop is bounded in time and count.

python benchmarks/load.py            full run: predict 60 s, batch 30 s, mix 30 s, then the faults (~7 minutes)
python benchmarks/load.py --quick    the same at a few seconds each (~1 minute)
python benchmarks/load.py --smoke    load scenarios only, 2 s each (the test suite's short form)
python benchmarks/load.py --only frozen-redis    one scenario alone, at the full run's durations
python benchmarks/load.py --only log-outage      the same for the PostgreSQL outage

Prints a table (scenario, figures, what held) and writes benchmarks/results/load.json and load.md.
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.config import get_settings  # noqa: E402
from app.db.session import create_db_engine  # noqa: E402
from app.models.versions.store import VersionStore, model_exists  # noqa: E402
from benchmarks.loadgen import cpu_seconds, run_load  # noqa: E402
from tests.live_server import (  # noqa: E402
    Server,
    http_status,
    live_server,
    wait_for,
    wait_for_workers,
    worker_pids,
    workers_started,
)
from tests.postgres import PostgresServer, pg_tool  # noqa: E402
from tests.small_disk import NoSmallDisk, fill_for_a_failing_save, small_disk  # noqa: E402
from tests.tools import redis_process  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
HIGH_LIMIT = "10000000/minute"
ADMIN_KEY = "load-suite-admin-key"


@dataclass(frozen=True)
class Durations:
    """Seconds per scenario in one mode."""

    predict: float
    rounds: int
    batch: float
    mix: float
    fault: float
    faults: bool


MODES = {
    "full": Durations(30, 2, 30, 30, 10, True),
    "quick": Durations(3, 2, 4, 4, 4, True),
    "smoke": Durations(2, 1, 2, 2, 2, False),
}


@dataclass
class Row:
    """One line of the report."""

    scenario: str
    requests: int
    rps: float | None
    p50_ms: float | None
    p99_ms: float | None
    non_2xx: int
    failed: int
    held: bool
    note: str = ""
    extra: dict = field(default_factory=dict)


@dataclass
class Stats:
    """Outcomes of a run of the asyncio driver."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    answered: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    retried: int = 0
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def non_2xx(self) -> int:
        return sum(count for status, count in self.statuses.items() if not 200 <= status < 300)

    def percentile(self, q: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


@dataclass(frozen=True)
class Call:
    """One kind of request in a mix."""

    weight: float
    method: str
    path: str
    body: bytes = b""
    content_type: str = "application/json"


def _request_bytes(call: Call, host: str) -> bytes:
    head = f"{call.method} {call.path} HTTP/1.1\r\nHost: {host}\r\n"
    if call.method == "POST":
        head += f"Content-Type: {call.content_type}\r\nContent-Length: {len(call.body)}\r\n"
    return (head + "\r\n").encode() + call.body


class StaleConnection(ConnectionError):
    """A kept-alive connection closed before any byte of the answer came back: the request was never taken."""


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    try:
        status_line = await reader.readline()
    except ConnectionResetError:
        raise StaleConnection("reset before the response") from None
    if not status_line:
        raise StaleConnection("closed before the response")
    status = int(status_line.split(b" ", 2)[1])
    length, close, chunked = 0, False, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
        elif name.lower() == b"connection" and value.strip().lower() == b"close":
            close = True
        elif name.lower() == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        await reader.readexactly(length)
        return status, close
    # A streamed body (the labelled CSV): chunks of "<hex size>\r\n<data>\r\n" up to a zero-size one.
    while size := int((await reader.readline()).split(b";")[0], 16):
        await reader.readexactly(size + 2)
    await reader.readexactly(2)
    return status, close


async def _drive(
    url: str, calls: list[Call], *, connections: int, seconds: float, max_requests: int, retry_stale: bool
) -> Stats:
    """Keep-alive clients sending a weighted mix until the time or the request budget is spent.

    With `retry_stale`, a request sent on a reused connection that the server closed before answering any byte
    is sent once more on a new connection and counted in `retried`, as HTTP clients do for a stale keep-alive
    connection (a server retiring a worker closes its idle connections, and one may cross a request in flight).
    """
    parts = urlsplit(url)
    if parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError(f"load only targets this machine, not {parts.hostname}")
    payloads = [(call.path, _request_bytes(call, parts.netloc)) for call in calls]
    weights = [call.weight for call in calls]
    stats = Stats()
    deadline = time.perf_counter() + seconds
    budget = [max_requests]
    rng = random.Random(7)

    async def client() -> None:
        reader = writer = None
        retry = None
        while retry is not None or (time.perf_counter() < deadline and budget[0] > 0):
            if retry is None:
                budget[0] -= 1
                path, payload = rng.choices(payloads, weights)[0]
            else:
                path, payload = retry
            reused = writer is not None
            started = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection(parts.hostname, parts.port), timeout=5
                    )
                writer.write(payload)
                status, close = await asyncio.wait_for(_read_response(reader), timeout=30)
            except (OSError, ConnectionError, asyncio.IncompleteReadError, TimeoutError, ValueError, IndexError) as exc:
                stale = isinstance(exc, StaleConnection | BrokenPipeError) and reused and retry is None
                if writer is not None:
                    writer.close()
                reader = writer = None
                if retry_stale and stale:
                    stats.retried += 1
                    retry = (path, payload)
                    continue
                retry = None
                stats.failed += 1
                await asyncio.sleep(0.01)
                continue
            retry = None
            stats.latencies.append(time.perf_counter() - started)
            stats.statuses[status] = stats.statuses.get(status, 0) + 1
            if 200 <= status < 300:
                stats.answered[path] = stats.answered.get(path, 0) + 1
            if close:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    stats.seconds = time.perf_counter() - started
    return stats


def drive(
    url: str,
    calls: list[Call],
    *,
    connections: int,
    seconds: float,
    max_requests: int = 2_000_000,
    retry_stale: bool = False,
) -> Stats:
    """Run the asyncio driver to completion."""
    return asyncio.run(
        _drive(url, calls, connections=connections, seconds=seconds, max_requests=max_requests, retry_stale=retry_stale)
    )


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its worker children, in MB (Linux /proc)."""
    pids = [pid, *worker_pids(pid)]
    total = 0
    for each in pids:
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


SINGLE = json.dumps({"annual_income": 60, "spending_score": 50}).encode()


def _batch_body(rows: int) -> bytes:
    rng = random.Random(1)
    customers = [
        {"annual_income": round(rng.uniform(0, 150), 1), "spending_score": round(rng.uniform(1, 100), 1)}
        for _ in range(rows)
    ]
    return json.dumps({"customers": customers}).encode()


BATCH_1000 = _batch_body(1_000)
CSV_ROWS = 400


def _csv_body(rows: int) -> bytes:
    """A customer file in the public format: the bundled Mall Customers rows, repeated and renumbered."""
    header, *lines = get_settings().data_path.read_text(encoding="utf-8").splitlines()
    body = [header, *(f"{i + 1},{lines[i % len(lines)].split(',', 1)[1]}" for i in range(rows))]
    return ("\n".join(body) + "\n").encode()


@contextmanager
def server(
    model_dir: Path, log: Path, *, workers: int = 1, ready_path: str = "/readyz", **env: str
) -> Iterator[Server]:
    """The real app under uvicorn on a free loopback port, with a rate limit that load never reaches."""
    settings = {"MODEL_DIR": str(model_dir), "AUTO_TRAIN": "false", "RATE_LIMIT_PREDICT": HIGH_LIMIT, **env}
    # A busy 2-core machine can take longer than uvicorn's 5 s default to start a worker or answer its ping.
    extra = ("--workers", str(workers), "--timeout-worker-healthcheck", "30") if workers > 1 else ()
    with live_server(settings, log, extra_args=extra, timeout=120, ready_path=ready_path) as running:
        if workers > 1:
            wait_for_workers(log, workers)
        yield running


def _row(name: str, stats: Stats, *, held: bool, note: str = "", **extra) -> Row:
    return Row(
        name,
        stats.requests,
        stats.requests / stats.seconds if stats.seconds else None,
        stats.percentile(0.5),
        stats.percentile(0.99),
        stats.non_2xx,
        stats.failed,
        held,
        note,
        extra,
    )


def load_scenarios(model_dir: Path, durations: Durations, workdir: Path) -> list[Row]:
    """Predict at 16 connections (against the bare endpoint too), batch of 1,000 at 4, and a mix; RSS growth."""
    rows = []
    with (
        server(model_dir, workdir / "app.log") as app,
        live_server({"LOG_LEVEL": "WARNING"}, workdir / "bare.log", app="benchmarks.bare_app:app") as bare,
    ):
        mix_calls = [
            Call(0.7, "POST", "/api/v1/predict", SINGLE),
            Call(0.1, "POST", "/api/v1/predict/batch", BATCH_1000),
            Call(0.1, "POST", "/api/v1/predict/csv", _csv_body(CSV_ROWS), "text/csv"),
            Call(0.05, "GET", "/api/v1/clusters"),
            Call(0.05, "GET", "/readyz"),
        ]
        # Warm up first with every kind of request at full concurrency (imports such as the CSV reader's, caches,
        # one allocator arena per busy thread), so RSS growth measures the load, not the first calls: measured,
        # RSS climbs for about 2,000 mixed requests at 16 connections and then holds.
        drive(app.url, mix_calls, connections=16, seconds=30, max_requests=2_000)
        rss_before = rss_mb(app.pid)
        runs, bare_runs, cpu, bare_cpu = [], [], [], []
        # Turns of bare and project, so a slow spell on a shared machine hits both. Server CPU per request is
        # the steadier figure when other processes compete for the cores; throughput is what a client sees.
        for _ in range(durations.rounds):
            for target, results, cpu_per_request in ((bare, bare_runs, bare_cpu), (app, runs, cpu)):
                before = cpu_seconds(target.pid)
                result = run_load(f"{target.url}/api/v1/predict", SINGLE, connections=16, seconds=durations.predict)
                used = cpu_seconds(target.pid) - before
                results.append(result)
                cpu_per_request.append(used / (result.requests_per_second * durations.predict) * 1e6)
        rps = statistics.median(run.requests_per_second for run in runs)
        bare_rps = statistics.median(run.requests_per_second for run in bare_runs)
        errors = sum(run.errors for run in runs)
        ratio = rps / bare_rps
        cpu_us, bare_cpu_us = statistics.median(cpu), statistics.median(bare_cpu)
        rows.append(
            Row(
                "predict, 16 connections",
                round(sum(run.requests_per_second for run in runs) * durations.predict),
                rps,
                statistics.median(run.p50_ms for run in runs),
                max(run.p99_ms for run in runs),
                errors,
                0,
                errors == 0 and ratio >= 0.85,
                f"{runs[0].tool}; {ratio:.2f}x the bare endpoint's {bare_rps:,.0f} req/s in the same run; server CPU "
                f"{cpu_us:.0f} µs/request against {bare_cpu_us:.0f} ({bare_cpu_us / cpu_us:.2f}x); metrics and "
                "rate limit on (limit set high)",
                {"ratio_to_bare": ratio, "bare_rps": bare_rps, "cpu_us": cpu_us, "bare_cpu_us": bare_cpu_us},
            )
        )
        batch = drive(
            app.url, [Call(1, "POST", "/api/v1/predict/batch", BATCH_1000)], connections=4, seconds=durations.batch
        )
        rows.append(
            _row(
                "batch of 1,000, 4 connections",
                batch,
                held=batch.non_2xx == 0 and batch.failed == 0,
                note=f"{batch.requests * 1000 / batch.seconds:,.0f} customers/s",
            )
        )
        mix = drive(app.url, mix_calls, connections=16, seconds=durations.mix)
        rss_after = rss_mb(app.pid)
        growth = rss_after - rss_before
        rows.append(
            _row(
                f"mix (70% predict, 10% batch of 1,000, 10% CSV upload of {CSV_ROWS} rows, 10% reads)",
                mix,
                held=mix.non_2xx == 0 and mix.failed == 0,
                note=", ".join(f"{path} {count:,}" for path, count in sorted(mix.answered.items())),
                answered=mix.answered,
            )
        )
        rows.append(
            Row(
                "server RSS over the load runs",
                0,
                None,
                None,
                None,
                0,
                0,
                growth < 20,
                f"{rss_before:.1f} MB before, {rss_after:.1f} MB after: {growth:+.1f} MB (target < 20 MB)",
                {"rss_before_mb": rss_before, "rss_after_mb": rss_after},
            )
        )
    return rows


class Background:
    """The asyncio driver in a thread, for faults injected while it runs."""

    def __init__(
        self, url: str, calls: list[Call], *, connections: int, seconds: float, retry_stale: bool = False
    ) -> None:
        self.stats = Stats()
        self._thread = threading.Thread(
            target=lambda: setattr(
                self,
                "stats",
                drive(url, calls, connections=connections, seconds=seconds, retry_stale=retry_stale),
            )
        )

    def __enter__(self) -> "Background":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join(timeout=600)


def fault_kill_worker(model_dir: Path, durations: Durations, workdir: Path) -> Row:
    """SIGKILL one of two workers under load: uvicorn replaces it; at most the requests in flight on it fail."""
    log = workdir / "kill.log"
    with server(model_dir, log, workers=2, PROMETHEUS_MULTIPROC_DIR=str(workdir / "kill-metrics")) as app:
        victim = min(worker_pids(app.pid))
        with Background(
            app.url, [Call(1, "POST", "/api/v1/predict", SINGLE)], connections=8, seconds=durations.fault
        ) as load:
            time.sleep(durations.fault / 3)
            os.kill(victim, signal.SIGKILL)
            replaced = wait_for(lambda: workers_started(log) >= 3, 60)
        stats = load.stats
    lost = stats.failed + stats.non_2xx
    return _row(
        "fault: SIGKILL one of 2 workers under load",
        stats,
        held=lost <= 8 and replaced is not None,
        note=f"{lost} requests lost (8 in flight at most); replacement serving after {replaced or 0:.1f} s",
    )


def fault_restart(model_dir: Path, durations: Durations, workdir: Path) -> Row:
    """SIGHUP under load: uvicorn starts each new worker before it retires the old one."""
    log = workdir / "restart.log"
    with server(model_dir, log, workers=2, PROMETHEUS_MULTIPROC_DIR=str(workdir / "restart-metrics")) as app:
        with Background(
            app.url,
            [Call(1, "POST", "/api/v1/predict", SINGLE)],
            connections=8,
            seconds=durations.fault,
            retry_stale=True,
        ) as load:
            time.sleep(durations.fault / 4)
            os.kill(app.pid, signal.SIGHUP)
            restarted = wait_for(lambda: workers_started(log) >= 4, 60)
        stats = load.stats
    return _row(
        "fault: rolling restart (SIGHUP) under load",
        stats,
        held=stats.failed == 0 and stats.non_2xx == 0 and restarted is not None,
        note=f"both workers replaced in {restarted or 0:.1f} s; {stats.retried} requests met a kept-alive "
        "connection a retiring worker was closing, unanswered, and were sent again on a new one, as HTTP clients "
        f"do; {stats.failed} lost",
    )


def fault_tampered(model_dir: Path, workdir: Path) -> Row:
    """A pickle edited on disk: the restarted service is not ready and refuses to predict, never a wrong answer."""
    tampered = workdir / "tampered"
    shutil.copytree(model_dir, tampered)
    active = VersionStore(tampered).active_version()
    with (tampered / active / "kmeans_model.pkl").open("ab") as handle:
        handle.write(b"\0tampered")
    log = workdir / "tampered.log"
    # Not ready is the expected state here, so wait for liveness instead.
    with server(tampered, log, ready_path="/livez") as app:
        ready = http_status(f"{app.url}/readyz")
        predicts = [http_status(f"{app.url}/api/v1/predict", SINGLE) for _ in range(20)]
        live = http_status(f"{app.url}/livez")
    held = ready == 503 and set(predicts) == {503} and live == 200
    stats = Stats(statuses={503: len(predicts)}, seconds=0)
    return _row(
        "fault: tampered artifact on restart",
        stats,
        held=held,
        note=f"/readyz {ready}, 20 predictions all {sorted(set(predicts))}, /livez {live}",
    )


def fault_read_only(model_dir: Path, durations: Durations, workdir: Path) -> Row:
    """The model folder read-only: the service loads and serves (it never writes there while serving)."""
    folder = workdir / "read-only"
    shutil.copytree(model_dir, folder)
    for path in [folder, *folder.iterdir()]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        with server(folder, workdir / "read-only.log") as app:
            ready = http_status(f"{app.url}/readyz")
            stats = drive(
                app.url, [Call(1, "POST", "/api/v1/predict", SINGLE)], connections=4, seconds=durations.fault / 2
            )
    finally:
        for path in [folder, *folder.iterdir()]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    return _row(
        "fault: model folder read-only",
        stats,
        held=ready == 200 and stats.non_2xx == 0 and stats.failed == 0,
        note=f"/readyz {ready}",
    )


def _train(url: str) -> dict:
    """Start a training job on the bundled data (activating its version) and wait, bounded, for its end state."""
    request = urllib.request.Request(
        f"{url}/api/v1/models", data=b"activate=true", headers={"X-API-Key": ADMIN_KEY}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        job_url = f"{url}{response.headers['Location']}"
    job: dict = {}

    def finished() -> bool:
        with urllib.request.urlopen(job_url, timeout=10) as answer:
            job.update(json.load(answer))
        return job["state"] in ("succeeded", "failed")

    wait_for(finished, 300)
    return job


def fault_full_disk(model_dir: Path, durations: Durations, workdir: Path) -> Row:
    """The model folder's disk fills while a training job writes its version, with predictions going on."""
    name = "fault: disk full while a training job writes its version"
    try:
        with small_disk(workdir / "small-disk", 4 * 1024 * 1024) as disk:
            root = disk / "models_artifacts"
            shutil.copytree(model_dir, root)
            active = VersionStore(root).active_version()
            log = workdir / "full-disk.log"
            with server(root, log, ADMIN_API_KEYS=ADMIN_KEY) as app:
                filler = fill_for_a_failing_save(disk, root / active)
                with Background(
                    app.url, [Call(1, "POST", "/api/v1/predict", SINGLE)], connections=4, seconds=durations.fault
                ) as load:
                    failed = _train(app.url)
                debris = [path.name for path in root.iterdir() if path.name.startswith(".staging-")]
                ready = http_status(f"{app.url}/readyz")
                filler.unlink()
                again = _train(app.url)
                job_log = (root / ".jobs" / failed["job_id"] / "log.txt").read_text()
            tracebacks = "Traceback" in log.read_text() + job_log
    except NoSmallDisk as exc:
        return Row(name, 0, None, None, None, 0, 0, False, f"not run: {exc}")
    stats = load.stats
    held = (
        failed.get("state") == "failed"
        and "no space left" in (failed.get("error") or "")
        and not debris
        and ready == 200
        and stats.non_2xx == 0
        and stats.failed == 0
        and again.get("state") == "succeeded"
        and not tracebacks
    )
    return _row(
        name,
        stats,
        held=held,
        note=f'job {failed.get("state")}: "{failed.get("error")}"; staging folders left: {len(debris)}; '
        f"/readyz {ready} and predictions served during the job; after freeing space a new job "
        f"{again.get('state')}; tracebacks: {'yes' if tracebacks else 'none'}",
    )


def _slow_clients(url: str, count: int, seconds: float, stop: threading.Event) -> int:
    """Open `count` connections that send a request's headers one byte a second; return how many stayed open."""
    parts = urlsplit(url)
    header = f"GET /api/v1/health HTTP/1.1\r\nHost: {parts.netloc}\r\nUser-Agent: slow-client\r\n".encode()
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
        sock.setblocking(False)
        sockets.append(sock)
    position = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stop.is_set() and position < len(header):
        for sock in list(sockets):
            try:
                sock.send(header[position : position + 1])
            except OSError:
                sockets.remove(sock)
        position += 1
        stop.wait(1.0)
    still_open = len(sockets)
    for sock in sockets:
        sock.close()
    return still_open


def fault_slow_clients(model_dir: Path, durations: Durations, workdir: Path) -> Row:
    """200 connections trickling headers a byte a second while normal requests are timed."""
    with server(model_dir, workdir / "slow.log") as app:
        quiet = drive(app.url, [Call(1, "POST", "/api/v1/predict", SINGLE)], connections=4, seconds=durations.fault / 2)
        stop = threading.Event()
        result: list[int] = []
        trickle = threading.Thread(target=lambda: result.append(_slow_clients(app.url, 200, durations.fault + 2, stop)))
        trickle.start()
        time.sleep(1.0)
        during = drive(app.url, [Call(1, "POST", "/api/v1/predict", SINGLE)], connections=4, seconds=durations.fault)
        stop.set()
        trickle.join(timeout=30)
    quiet_p50, during_p50 = quiet.percentile(0.5) or 0, during.percentile(0.5) or 0
    return _row(
        "fault: 200 slow clients (headers at 1 byte/s)",
        during,
        held=during.non_2xx == 0 and during.failed == 0 and during_p50 < max(10 * quiet_p50, 50),
        note=f"normal p50 {quiet_p50:.1f} ms before, {during_p50:.1f} ms during; "
        f"{result[0] if result else 0} slow connections held open; no --limit-concurrency",
    )


def _metric(url: str, name: str) -> float:
    """The sum of a metric's samples in /metrics (the server lets loopback read it)."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    )


def _logged_requests(database_url: str) -> int:
    """Distinct requests in the prediction log (a batch retried after an unanswered commit may land twice)."""
    from sqlalchemy import text

    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.scalar(text("SELECT count(DISTINCT request_id) FROM prediction_log"))
    finally:
        engine.dispose()


def fault_log_outage(model_dir: Path, durations: Durations, workdir: Path) -> Row:
    """PostgreSQL stopped under predict load: the log holds the rows and writes them when it is back."""
    outage, lead = 2 * durations.fault, durations.fault / 2
    name = f"fault: PostgreSQL stopped for {outage:.0f} s under predict load (prediction log)"
    initdb, pg_ctl = pg_tool("initdb"), pg_tool("pg_ctl")
    if not (initdb and pg_ctl):
        return Row(name, 0, None, None, None, 0, 0, False, "not run: PostgreSQL (initdb, pg_ctl) is not installed")
    database = PostgresServer(initdb, pg_ctl)
    try:
        database.start()
        url = database.create_database()
        with server(model_dir, workdir / "log-outage.log", DATABASE_URL=url) as app:
            # Requests before the load are logged too: they are counted out of the figure.
            wait_for(lambda: _metric(app.url, "prediction_log_queue_rows") == 0, 30)
            logged_before = _logged_requests(url)
            dropped_before = _metric(app.url, "prediction_log_dropped_rows_total")
            peak, sampling = [0.0], threading.Event()

            def sample_queue() -> None:
                while not sampling.wait(0.5):
                    peak[0] = max(peak[0], _metric(app.url, "prediction_log_queue_rows"))

            sampler = threading.Thread(target=sample_queue)
            sampler.start()
            predict = [Call(1, "POST", "/api/v1/predict", SINGLE)]
            with Background(app.url, predict, connections=8, seconds=outage + 2 * lead) as load:
                time.sleep(lead)
                database.stop()
                stopped = time.monotonic()
                time.sleep(outage)
                database.start()
                down = time.monotonic() - stopped
            drained = wait_for(lambda: _metric(app.url, "prediction_log_queue_rows") == 0, 60)
            sampling.set()
            sampler.join(timeout=30)
            dropped = _metric(app.url, "prediction_log_dropped_rows_total") - dropped_before
            logged = _logged_requests(url) - logged_before
    finally:
        database.remove()
    stats = load.stats
    answered = stats.answered.get("/api/v1/predict", 0)
    lost = answered - logged
    share = lost / answered if answered else 1.0
    return _row(
        name,
        stats,
        held=stats.non_2xx == 0 and stats.failed == 0 and share <= 0.01 and dropped == lost and drained is not None,
        note=f"database down {down:.1f} s; {answered:,} predictions answered, {logged:,} logged, {lost:,} lost "
        f"({share:.2%}; target ≤ 1%); prediction_log_dropped_rows_total +{dropped:.0f}; queue peak {peak[0]:,.0f} "
        f"of {get_settings().prediction_log_queue_rows:,} rows, empty {drained or 0:.1f} s after the load "
        "stopped",
        answered=answered,
        logged=logged,
        lost=lost,
        dropped_metric=dropped,
        queue_peak=peak[0],
    )


CIRCUIT_GAUGE = "rate_limit_storage_circuit_open"


def fault_frozen_redis(model_dir: Path, durations: Durations, workdir: Path) -> Row:
    """Redis frozen (SIGSTOP) under predict load: the circuit opens, and predictions go on, unlimited, at the rate
    they had with Redis answering (the same server, just before)."""
    name = "fault: Redis frozen (SIGSTOP) under predict load, Redis-backed limits"
    if shutil.which("redis-server") is None:
        return Row(name, 0, None, None, None, 0, 0, False, "not run: redis-server is not installed")
    predict = Call(1, "POST", "/api/v1/predict", SINGLE)
    with (
        redis_process() as (redis_url, redis),
        server(model_dir, workdir / "frozen-redis.log", RATE_LIMIT_STORAGE=redis_url) as app,
    ):
        drive(app.url, [predict], connections=16, seconds=2, max_requests=2_000)
        url = f"{app.url}/api/v1/predict"
        healthy = run_load(url, SINGLE, connections=16, seconds=durations.fault)
        closed_before = _metric(app.url, CIRCUIT_GAUGE)
        redis.send_signal(signal.SIGSTOP)
        try:
            frozen = run_load(url, SINGLE, connections=16, seconds=durations.fault)
            open_during = _metric(app.url, CIRCUIT_GAUGE)
        finally:
            redis.send_signal(signal.SIGCONT)

        def closed_again() -> bool:
            drive(app.url, [predict], connections=1, seconds=0.2, max_requests=5)  # a probe, once the delay is over
            return _metric(app.url, CIRCUIT_GAUGE) == 0

        recovered = wait_for(closed_again, 60)
        log = (workdir / "frozen-redis.log").read_text()
    ratio = frozen.requests_per_second / healthy.requests_per_second
    held = (
        ratio >= 0.8
        and healthy.errors == 0
        and frozen.errors == 0
        and closed_before == 0
        and open_during == 1
        and recovered is not None
        and log.count("circuit open") == 1
    )
    return Row(
        name,
        round(frozen.requests_per_second * durations.fault),
        frozen.requests_per_second,
        frozen.p50_ms,
        frozen.p99_ms,
        frozen.errors,
        0,
        held,
        f"{frozen.tool}, 16 connections; frozen {frozen.requests_per_second:,.0f} req/s against "
        f"{healthy.requests_per_second:,.0f} with Redis answering: {ratio:.2f}x (goal >= 0.8x); p99 "
        f"{healthy.p99_ms:.1f} -> {frozen.p99_ms:.1f} ms; {CIRCUIT_GAUGE} {closed_before:g} before, "
        f"{open_during:g} while frozen, 0 again {recovered or 0:.1f} s after SIGCONT; "
        f"{log.count('circuit open')} 'circuit open' log line",
        {"ratio_to_healthy": ratio, "healthy_rps": healthy.requests_per_second, "gauge_open": open_during},
    )


# Scenarios that `--only NAME` runs alone, for a figure without the whole suite.
SINGLE_SCENARIOS = {"frozen-redis": fault_frozen_redis, "log-outage": fault_log_outage}


def faults(model_dir: Path, durations: Durations, workdir: Path) -> list[Row]:
    """Every fault scenario, each on its own server."""
    return [
        fault_kill_worker(model_dir, durations, workdir),
        fault_restart(model_dir, durations, workdir),
        fault_tampered(model_dir, workdir),
        fault_read_only(model_dir, durations, workdir),
        fault_full_disk(model_dir, durations, workdir),
        fault_slow_clients(model_dir, durations, workdir),
        fault_frozen_redis(model_dir, durations, workdir),
        fault_log_outage(model_dir, durations, workdir),
    ]


def _cell(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def table(rows: list[Row]) -> str:
    """The report as a Markdown table."""
    lines = [
        "| scenario | requests | req/s | p50 ms | p99 ms | non-2xx | failed | held | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.scenario} | {row.requests:,} | {_cell(row.rps, 0)} | {_cell(row.p50_ms)} | {_cell(row.p99_ms)} "
            f"| {row.non_2xx} | {row.failed} | {'yes' if row.held else 'NO'} | {row.note} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the suite, print the table, write JSON and Markdown; exit 1 if anything did not hold."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_const", const="quick", dest="mode")
    group.add_argument("--smoke", action="store_const", const="smoke", dest="mode")
    parser.add_argument("--only", choices=sorted(SINGLE_SCENARIOS), help="run this one scenario alone")
    parser.add_argument("--model-dir", type=Path, default=None, help="trained model (default: MODEL_DIR)")
    parser.add_argument("--output", type=Path, default=None, help="default: results/load.json (load-NAME.json)")
    args = parser.parse_args(argv)
    # A scenario run alone keeps the full run's report.
    args.output = args.output or RESULTS / (f"load-{args.only}.json" if args.only else "load.json")
    mode = args.mode or "full"
    durations = MODES[mode]
    model_dir = args.model_dir or get_settings().model_dir
    if not model_exists(model_dir):
        print(f"error: no trained model in {model_dir}; run `python train_model.py` first", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        if args.only:
            rows = [SINGLE_SCENARIOS[args.only](model_dir, durations, workdir)]
        else:
            rows = load_scenarios(model_dir, durations, workdir)
            if durations.faults:
                rows += faults(model_dir, durations, workdir)
    report = table(rows)
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"mode": mode, "rows": [asdict(row) for row in rows]}, indent=2))
    args.output.with_suffix(".md").write_text(report + "\n")
    return 0 if all(row.held for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
