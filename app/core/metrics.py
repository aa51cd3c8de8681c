"""Prometheus metrics: every definition, the recording functions, the exposition, and multiprocess set-up.

prometheus-client is used directly rather than through prometheus-fastapi-instrumentator: the instrumentator
adds its own per-request hooks and exposition route, which get in the way of multiprocess mode (its /metrics
must be built from the shared folder, and its collectors would be registered once per app) and of labelling
by route template for mounts and unmatched paths. One pure ASGI middleware (app/core/middleware.py) does the
request part in a few lines, and the domain counters are plain functions that the services call.

Nothing happens at import: `create_app` calls `configure_metrics`, which chooses the mode and builds the
collectors once per process. Until then every recording function returns at once, so a CLI command or a
training job (which import the services, and may inherit PROMETHEUS_MULTIPROC_DIR from a server) neither counts
into a registry nobody serves nor writes into, or wipes, a live server's folder.
"""

import itertools
import logging
import multiprocessing
import os
import shutil
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

from app.core.config import Settings
from app.utils.locking import exclusive_lock
from app.utils.processes import pid_alive

logger = logging.getLogger(__name__)

METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST
# Automatic folders live in the temp folder as <prefix><supervisor pid>-<its start time>.
AUTO_DIR_PREFIX = "segmentation-metrics-"
# Folders of dead supervisors looked at per claim: a bound on start-up work, however many have piled up.
_STALE_SCAN_LIMIT = 50
_OWNER_FILE = ".owner"

# The segmentation label of what was recorded without one: every caller from before segmentations existed.
DEFAULT_SEGMENTATION = "default"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SIZE_BUCKETS = (1, 10, 100, 1_000, 10_000, 100_000, 1_000_000)


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks (Linux), so a reused pid is not mistaken for the same server."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _supervisor_pid() -> int | None:
    """The pid of the process that started this one with multiprocessing (uvicorn's supervisor), if any."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        return parent.pid
    # A spawned child learns its parent only after re-importing the parent's main script, and `python main.py`
    # builds the app (so configures metrics) in that import; its process name already says it is a child, and
    # the supervisor started it directly.
    if multiprocessing.current_process().name != "MainProcess":
        return os.getppid()
    return None


def _server_identity() -> str:
    """The server this process belongs to: uvicorn's supervisor when it is a worker, else this process."""
    pid = _supervisor_pid() or os.getpid()
    return f"{pid}:{_start_time(pid)}"


def claim_multiprocess_dir(path: Path) -> None:
    """Wipe the folder when a new server starts; a replacement worker of the same server keeps the counts.

    The first worker of a server takes the folder under a lock and writes the server's identity; the others,
    and any worker uvicorn starts later to replace a dead one, find it already theirs and only drop the live
    gauges of dead workers.
    """
    path.mkdir(parents=True, exist_ok=True)
    owner = _server_identity()
    with exclusive_lock(path / ".lock"):
        marker = path / _OWNER_FILE
        if not marker.exists() or marker.read_text() != owner:
            for stale in path.glob("*.db"):
                stale.unlink(missing_ok=True)
            marker.write_text(owner)
            return
        for db in path.glob("*.db"):
            pid = db.stem.rsplit("_", 1)[-1]
            if pid.isdigit() and not pid_alive(int(pid)):
                multiprocess.mark_process_dead(int(pid), str(path))


def _is_own_folder(path: Path) -> bool:
    """A real folder (not a link) owned by this user: another user's folder in /tmp is never used or removed."""
    try:
        info = path.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and (not hasattr(os, "getuid") or info.st_uid == os.getuid())


def remove_stale_automatic_dirs(root: Path) -> None:
    """Remove the automatic folders of supervisors that have exited (a bounded number looked at; best effort)."""
    for folder in itertools.islice(root.glob(f"{AUTO_DIR_PREFIX}*"), _STALE_SCAN_LIMIT):
        pid, _, started = folder.name.removeprefix(AUTO_DIR_PREFIX).partition("-")
        if not pid.isdigit() or not _is_own_folder(folder):
            continue
        if pid_alive(int(pid)) and _start_time(int(pid)) == started:
            continue
        shutil.rmtree(folder, ignore_errors=True)


def automatic_multiprocess_dir(supervisor: int, root: Path | None = None) -> Path | None:
    """The folder the workers of `supervisor` share when none is configured; None if it cannot be ours."""
    root = root or Path(tempfile.gettempdir())
    remove_stale_automatic_dirs(root)
    # The start time tells this supervisor from an earlier process that had the same pid.
    folder = root / f"{AUTO_DIR_PREFIX}{supervisor}-{_start_time(supervisor)}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        logger.warning("metrics: cannot create %s (%s); each worker reports only its own requests", folder, exc)
        return None
    if not _is_own_folder(folder):
        logger.warning("metrics: %s is not a folder of this user; each worker reports only its own requests", folder)
        return None
    return folder


def _multiprocess_dir(settings: Settings) -> Path | None:
    """Where workers share their counts: the configured folder, an automatic one for a worker, else None."""
    if settings.prometheus_multiproc_dir is not None:
        return settings.prometheus_multiproc_dir
    supervisor = _supervisor_pid()
    if supervisor is None:
        # One process serves every request: counting in memory is exact and cheaper than files.
        return None
    return automatic_multiprocess_dir(supervisor)


@dataclass(frozen=True, slots=True)
class Metrics:
    """One process's collectors, and the folder multiprocess mode shares them through (None: this process only)."""

    folder: Path | None
    http_requests: Counter
    http_latency: Histogram
    segment_predictions: Counter
    atypical_predictions: Counter
    out_of_range_values: Counter
    scored_sizes: Histogram
    model_load_seconds: Gauge
    model_active: Gauge
    rate_limited: Counter
    rate_limit_circuit_open: Gauge
    log_dropped_rows: Counter
    log_queue_rows: Gauge
    model_serving_fallback: Gauge
    training_jobs: Counter
    drift_status: Gauge
    outcome_events: Counter
    retrain_proposals: Counter
    notification_deliveries: Counter


# Why the prediction log dropped rows (app/services/monitoring/prediction_log.py says when each applies).
LOG_DROP_REASONS = ("queue_full", "write_failed", "not_migrated", "stopped", "spool_full")
# How a training job can end (app/services/training/store.py FINAL_STATES, which core cannot import).
TRAINING_JOB_STATES = ("succeeded", "failed")
# Notification delivery attempts: by channel (app/db/tables.py's subscription kinds), and how each went: delivered,
# failed (to be tried again), gave_up (its last attempt, or refused for good).
NOTIFICATION_CHANNELS = ("email", "webhook")
NOTIFICATION_OUTCOMES = ("delivered", "failed", "gave_up")


def _build(folder: Path | None) -> Metrics:
    """Create every collector, in the default registry (which the in-process exposition serves)."""
    return Metrics(
        folder=folder,
        http_requests=Counter(
            "http_requests_total", "HTTP requests answered, by route template.", ["method", "route", "status"]
        ),
        http_latency=Histogram(
            "http_request_duration_seconds",
            "Time from request to the end of the response, by route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
        ),
        segment_predictions=Counter(
            "segment_predictions_total",
            "Customers scored, by segmentation, segment name and source.",
            ["segmentation", "segment", "source"],
        ),
        atypical_predictions=Counter(
            "atypical_predictions_total",
            "Customers farther from their centroid than 95% of its own, by segmentation and source.",
            ["segmentation", "source"],
        ),
        out_of_range_values=Counter(
            "out_of_range_values_total",
            "Values outside the training range, by segmentation, feature and source.",
            ["segmentation", "feature", "source"],
        ),
        scored_sizes=Histogram(
            "scored_customers_per_request",
            "Customers in one batch request or CSV file, by segmentation and source.",
            ["segmentation", "source"],
            buckets=SIZE_BUCKETS,
        ),
        model_load_seconds=Gauge(
            "model_load_seconds",
            "Seconds the last model load of each segmentation took (checksums verified).",
            ["segmentation"],
            multiprocess_mode="livemax",
        ),
        model_active=Gauge(
            "model_active_info",
            "1 for the model version each segmentation serves.",
            ["segmentation", "version"],
            multiprocess_mode="livemax",
        ),
        rate_limited=Counter("rate_limited_requests_total", "Requests refused with 429, by limit.", ["limit"]),
        # livemax: 1 while any live worker has its circuit open (each worker has its own).
        rate_limit_circuit_open=Gauge(
            "rate_limit_storage_circuit_open",
            "1 while the rate-limit storage (Redis) is out of reach and left alone: predictions are not limited.",
            multiprocess_mode="livemax",
        ),
        log_dropped_rows=Counter(
            "prediction_log_dropped_rows_total",
            "Prediction log rows lost (never written), by reason.",
            ["reason"],
        ),
        # livesum: the rows every live worker holds; a dead worker's queue is gone with it.
        log_queue_rows=Gauge(
            "prediction_log_queue_rows",
            "Prediction log rows waiting to be written (queued or held for a retry).",
            multiprocess_mode="livesum",
        ),
        # livemax: 1 when any worker serves its last verified model because the active one cannot be loaded.
        model_serving_fallback=Gauge(
            "model_serving_fallback",
            "1 while the last verified model is served because the ACTIVE pointer names one that cannot be loaded.",
            multiprocess_mode="livemax",
        ),
        training_jobs=Counter(
            "training_jobs_total",
            "Training jobs this server started that have ended, by final state.",
            ["state"],
        ),
        # mostrecent: the value set last by any process, alive or not. One worker at a time evaluates drift (the
        # others leave the gauge alone), and its verdict stays exported after that worker exits.
        drift_status=Gauge(
            "drift_status",
            "Latest drift evaluation per segmentation and check: 0 stable, 1 watch, 2 drift, -1 insufficient data.",
            ["segmentation", "check"],
            multiprocess_mode="mostrecent",
        ),
        outcome_events=Counter(
            "outcome_events_total",
            "Outcome events stored, by segmentation and whether the customer was matched to an arm or a segment.",
            ["segmentation", "matched"],
        ),
        retrain_proposals=Counter(
            "retrain_proposals_total",
            "Retraining proposals created, by segmentation and trigger (drift or manual).",
            ["segmentation", "trigger"],
        ),
        notification_deliveries=Counter(
            "notification_deliveries_total",
            "Notification delivery attempts, by channel and outcome (delivered, failed and retried later, gave_up).",
            ["channel", "outcome"],
        ),
    )


_metrics: Metrics | None = None


def configure_metrics(settings: Settings) -> Metrics:
    """Choose this process's mode and create the collectors; the first call decides, later ones get the same."""
    global _metrics
    if _metrics is not None:
        # Tests build many apps in one process; a server builds one per worker.
        return _metrics
    folder = _multiprocess_dir(settings)
    if folder is None:
        # Set, not assumed: prometheus-client picks file-backed values at its import when PROMETHEUS_MULTIPROC_DIR
        # is in the environment, and this process was told to count in memory.
        values.ValueClass = values.MutexValue
    else:
        claim_multiprocess_dir(folder)
        # The file-backed values read the folder from the environment, and must be chosen before any collector
        # exists.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
        values.ValueClass = values.MultiProcessValue()
    _metrics = _build(folder)
    for reason in LOG_DROP_REASONS:
        # Every reason exported from the start at 0, so a rate() or an alert sees the first drop as an increase.
        _metrics.log_dropped_rows.labels(reason)
    for state in TRAINING_JOB_STATES:
        _metrics.training_jobs.labels(state)
    for channel in NOTIFICATION_CHANNELS:
        for outcome in NOTIFICATION_OUTCOMES:
            _metrics.notification_deliveries.labels(channel, outcome)
    logger.debug("metrics: %s", f"shared through {folder}" if folder else "in this process")
    return _metrics


_children: dict[tuple, Counter | Histogram] = {}
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _child(metric: Counter | Histogram, *labels: str) -> Counter | Histogram:
    """A labelled child, cached: `labels()` validates and locks on every call, which shows on the hot path."""
    key = (metric, *labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


def record_scores(
    *,
    segment_names: Sequence[str],
    positions: np.ndarray,
    is_atypical: np.ndarray,
    out_of_range: np.ndarray,
    features: Sequence[str],
    source: str,
    chunk: bool = False,
    segmentation: str = DEFAULT_SEGMENTATION,
) -> None:
    """Count scored customers per segment, the atypical ones and out-of-range values, for one request.

    `chunk` marks one chunk of a larger request (a CSV file): its size is observed once, by `record_scored_size`.
    """
    m = _metrics
    if m is None:
        return
    if len(positions) == 1:
        # One customer, the single-prediction hot path: numpy calls on one row cost more than the counting.
        _child(m.segment_predictions, segmentation, segment_names[positions.item()], source).inc()
        if is_atypical.item():
            _child(m.atypical_predictions, segmentation, source).inc()
        for feature, flag in zip(features, out_of_range[0].tolist(), strict=True):
            if flag:
                _child(m.out_of_range_values, segmentation, feature, source).inc()
    else:
        counts = np.bincount(positions, minlength=len(segment_names)).tolist()
        for name, count in zip(segment_names, counts, strict=True):
            if count:
                _child(m.segment_predictions, segmentation, name, source).inc(count)
        atypical = int(np.count_nonzero(is_atypical))
        if atypical:
            _child(m.atypical_predictions, segmentation, source).inc(atypical)
        if out_of_range.any():
            for feature, count in zip(features, np.count_nonzero(out_of_range, axis=0).tolist(), strict=True):
                if count:
                    _child(m.out_of_range_values, segmentation, feature, source).inc(count)
    if source != "single" and not chunk:
        record_scored_size(source=source, customers=len(positions), segmentation=segmentation)


def record_scored_size(*, source: str, customers: int, segmentation: str = DEFAULT_SEGMENTATION) -> None:
    """Observe the number of customers in one batch request or CSV file."""
    if _metrics is not None:
        _child(_metrics.scored_sizes, segmentation, source).observe(customers)


def record_model_loaded(
    *,
    version: str | None,
    seconds: float | None,
    previous: str | None = None,
    segmentation: str = DEFAULT_SEGMENTATION,
) -> None:
    """Publish the version a segmentation now serves (None: none is) and how long loading it took."""
    m = _metrics
    if m is None:
        return
    if previous is not None and previous != version:
        m.model_active.labels(segmentation, previous).set(0)
    if version is not None:
        m.model_active.labels(segmentation, version).set(1)
        m.model_load_seconds.labels(segmentation).set(seconds or 0.0)


def record_outcomes(*, segmentation: str, matched: int, unmatched: int) -> None:
    """Count stored outcome events, matched to a customer the service has seen or not."""
    if _metrics is not None:
        _metrics.outcome_events.labels(segmentation, "true").inc(matched)
        _metrics.outcome_events.labels(segmentation, "false").inc(unmatched)


def record_rate_limited(*, limit: str) -> None:
    """Count one request refused by a rate limit."""
    if _metrics is not None:
        _metrics.rate_limited.labels(limit).inc()


def record_rate_limit_circuit(*, is_open: bool) -> None:
    """Publish whether this worker's circuit to the rate-limit storage is open."""
    if _metrics is not None:
        _metrics.rate_limit_circuit_open.set(1 if is_open else 0)


def record_log_dropped(*, reason: str, rows: int) -> None:
    """Count prediction log rows lost, by reason (one of LOG_DROP_REASONS)."""
    if _metrics is not None:
        _child(_metrics.log_dropped_rows, reason).inc(rows)


def record_training_job_ended(*, state: str) -> None:
    """Count one training job that reached its final state (one of TRAINING_JOB_STATES)."""
    if _metrics is not None:
        _metrics.training_jobs.labels(state).inc()


def record_proposal_created(*, segmentation: str, trigger: str) -> None:
    """Count one retraining proposal stored for a segmentation."""
    if _metrics is not None:
        _metrics.retrain_proposals.labels(segmentation, trigger).inc()


def record_notification_attempt(*, channel: str, outcome: str) -> None:
    """Count one notification delivery attempt once its outcome is stored (one of NOTIFICATION_OUTCOMES)."""
    if _metrics is not None:
        _metrics.notification_deliveries.labels(channel, outcome).inc()


def record_log_queue(rows: int) -> None:
    """Publish how many prediction log rows wait to be written."""
    if _metrics is not None:
        _metrics.log_queue_rows.set(rows)


def record_serving_fallback(reason: str | None) -> None:
    """Set model_serving_fallback: 1 while serving the last verified model (`reason` says why), 0 otherwise."""
    if _metrics is not None:
        _metrics.model_serving_fallback.set(0 if reason is None else 1)


def record_drift_status(*, segmentation: str, checks: dict[str, float]) -> None:
    """Publish a segmentation's latest drift evaluation: each check's value (0 stable ... -1 insufficient data)."""
    if _metrics is not None:
        for check, value in checks.items():
            _metrics.drift_status.labels(segmentation, check).set(value)


def mark_worker_stopped() -> None:
    """Drop this worker's live gauges from the shared folder when it stops."""
    if _metrics is not None and _metrics.folder is not None:
        multiprocess.mark_process_dead(os.getpid(), str(_metrics.folder))


def exposition() -> bytes:
    """The metrics in the Prometheus text format: the sum over every worker in multiprocess mode."""
    if _metrics is None or _metrics.folder is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(_metrics.folder))
    return generate_latest(registry)


def record_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered HTTP request and its duration, by route template."""
    m = _metrics
    if m is None:
        return
    # Any string can arrive as a method: unknown ones share one label, so they cannot grow the label set.
    method = method if method in _KNOWN_METHODS else "other"
    _child(m.http_requests, method, route, str(status)).inc()
    _child(m.http_latency, method, route).observe(seconds)
