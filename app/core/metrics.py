"""Prometheus metrics: every definition, the request middleware, the exposition, and multiprocess set-up.

prometheus-client is used directly rather than through prometheus-fastapi-instrumentator: the instrumentator
adds its own per-request hooks and exposition route, which get in the way of multiprocess mode (its /metrics
must be built from the shared folder, and its collectors would be registered once per app) and of labelling
by route template for mounts and unmatched paths. One pure ASGI middleware does the request part in a few
lines, and the domain counters are plain functions that the services call.
"""

import logging
import multiprocessing
import os
from collections.abc import Sequence
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

from app.core.config import get_settings
from app.utils.locking import exclusive_lock

logger = logging.getLogger(__name__)

METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST
_OWNER_FILE = ".owner"


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks (Linux), so a reused pid is not mistaken for the same server."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _server_identity() -> str:
    """The server this process belongs to: uvicorn's supervisor when it is a worker, else this process."""
    parent = multiprocessing.parent_process()
    pid = parent.pid if parent is not None and parent.pid is not None else os.getpid()
    return f"{pid}:{_start_time(pid)}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
            if pid.isdigit() and not _alive(int(pid)):
                multiprocess.mark_process_dead(int(pid), str(path))


def _configure_multiprocess() -> Path | None:
    """Switch prometheus-client to multiprocess mode when a folder is configured (before any metric exists)."""
    folder = get_settings().prometheus_multiproc_dir
    if folder is None:
        return None
    claim_multiprocess_dir(folder)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    values.ValueClass = values.get_value_class()
    return folder


MULTIPROCESS_DIR = _configure_multiprocess()

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SIZE_BUCKETS = (1, 10, 100, 1_000, 10_000, 100_000, 1_000_000)

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered, by route template.", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time from request to the end of the response, by route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
SEGMENT_PREDICTIONS = Counter(
    "segment_predictions_total", "Customers scored, by segment name and source.", ["segment", "source"]
)
ATYPICAL_PREDICTIONS = Counter(
    "atypical_predictions_total", "Customers farther from their centroid than 95% of its own.", ["source"]
)
OUT_OF_RANGE_VALUES = Counter(
    "out_of_range_values_total", "Values outside the training range, by feature and source.", ["feature", "source"]
)
SCORED_SIZES = Histogram(
    "scored_customers_per_request", "Customers in one batch request or CSV file.", ["source"], buckets=SIZE_BUCKETS
)
MODEL_LOAD_SECONDS = Gauge(
    "model_load_seconds", "Seconds the last model load took (checksums verified).", multiprocess_mode="livemax"
)
MODEL_ACTIVE = Gauge(
    "model_active_info", "1 for the model version being served.", ["version"], multiprocess_mode="livemax"
)
RATE_LIMITED = Counter("rate_limited_requests_total", "Requests refused with 429, by limit.", ["limit"])


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
) -> None:
    """Count scored customers per segment, the atypical ones and out-of-range values, for one request.

    `chunk` marks one chunk of a larger request (a CSV file): its size is observed once, by `record_scored_size`.
    """
    if len(positions) == 1:
        # One customer, the single-prediction hot path: numpy calls on one row cost more than the counting.
        _child(SEGMENT_PREDICTIONS, segment_names[positions.item()], source).inc()
        if is_atypical.item():
            _child(ATYPICAL_PREDICTIONS, source).inc()
        for feature, flag in zip(features, out_of_range[0].tolist(), strict=True):
            if flag:
                _child(OUT_OF_RANGE_VALUES, feature, source).inc()
    else:
        counts = np.bincount(positions, minlength=len(segment_names)).tolist()
        for name, count in zip(segment_names, counts, strict=True):
            if count:
                _child(SEGMENT_PREDICTIONS, name, source).inc(count)
        atypical = int(np.count_nonzero(is_atypical))
        if atypical:
            _child(ATYPICAL_PREDICTIONS, source).inc(atypical)
        if out_of_range.any():
            for feature, count in zip(features, np.count_nonzero(out_of_range, axis=0).tolist(), strict=True):
                if count:
                    _child(OUT_OF_RANGE_VALUES, feature, source).inc(count)
    if source != "single" and not chunk:
        record_scored_size(source=source, customers=len(positions))


def record_scored_size(*, source: str, customers: int) -> None:
    """Observe the number of customers in one batch request or CSV file."""
    _child(SCORED_SIZES, source).observe(customers)


def record_model_loaded(*, version: str | None, seconds: float | None, previous: str | None = None) -> None:
    """Publish the version now served (None: none is) and how long loading it took."""
    if previous is not None and previous != version:
        MODEL_ACTIVE.labels(previous).set(0)
    if version is not None:
        MODEL_ACTIVE.labels(version).set(1)
        MODEL_LOAD_SECONDS.set(seconds or 0.0)


def record_rate_limited(*, limit: str) -> None:
    """Count one request refused by a rate limit."""
    RATE_LIMITED.labels(limit).inc()


def mark_worker_stopped() -> None:
    """Drop this worker's live gauges from the shared folder when it stops."""
    if MULTIPROCESS_DIR is not None:
        multiprocess.mark_process_dead(os.getpid(), str(MULTIPROCESS_DIR))


def exposition() -> bytes:
    """The metrics in the Prometheus text format: the sum over every worker in multiprocess mode."""
    if MULTIPROCESS_DIR is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(MULTIPROCESS_DIR))
    return generate_latest(registry)


def record_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered HTTP request and its duration, by route template."""
    # Any string can arrive as a method: unknown ones share one label, so they cannot grow the label set.
    method = method if method in _KNOWN_METHODS else "other"
    _child(HTTP_REQUESTS, method, route, str(status)).inc()
    _child(HTTP_LATENCY, method, route).observe(seconds)
