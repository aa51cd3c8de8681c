"""Training jobs: queued by the API, run in a separate process, their state kept on disk for every worker.

A job is a folder `<jobs>/<job_id>/` with `job.json` (state, progress, result; replaced atomically), the
uploaded CSV and the process's log. The trainer is `python -m app.cli models run-job <folder>`, a separate
process: serving never trains in its event loop or thread pool. It writes a heartbeat every second, so any
worker (on any host) can tell a job whose process was killed from one still running.
"""

import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.core.config import PROJECT_ROOT, Settings
from app.core.errors import InvalidRequest, ModelStoreError, UnknownJob, VersionConflict, is_no_space, no_space_as
from app.models import clustering
from app.models.clustering import DEFAULT_K
from app.models.features import FEATURES, normalise_column, wanted_columns
from app.services.csv_text import HEAD_BYTES, decode_head
from app.utils.files import atomic_replace
from app.utils.locking import exclusive_lock

logger = logging.getLogger(__name__)

JOB_FILE = "job.json"
UPLOAD_FILE = "upload.csv"
LOG_FILE = "log.txt"
# Held while jobs are counted and one is created (not a job folder: job ids are 32 hex digits).
LOCK_FILE = ".create.lock"
HEARTBEAT_SECONDS = 1.0
# A running job whose heartbeat is older than this has lost its process (killed, crashed, host gone).
STALE_SECONDS = 15.0
FINAL_STATES = ("succeeded", "failed")
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def write_job(folder: Path, job: dict[str, Any]) -> None:
    """Replace job.json atomically, so a reader never sees half a state."""
    with atomic_replace(folder / JOB_FILE) as handle:
        handle.write(json.dumps(job).encode())


def read_job(folder: Path) -> dict[str, Any]:
    """job.json of a job folder."""
    return json.loads((folder / JOB_FILE).read_text(encoding="utf-8"))


def parse_k(value: str) -> int | str:
    """'auto' or a whole number within the supported range; InvalidRequest otherwise."""
    try:
        return clustering.parse_k(value)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None


def parse_features(value: str) -> list[str]:
    """Feature names separated by commas or spaces; InvalidRequest for unknown or repeated names."""
    names = [name for name in re.split(r"[,\s]+", value.strip()) if name]
    if not names or len(set(names)) != len(names) or any(name not in FEATURES for name in names):
        raise InvalidRequest(f"features must be distinct names from: {', '.join(FEATURES)}")
    return names


def check_upload_header(path: Path, features: list[str]) -> None:
    """Refuse at once what training would refuse from the first line: empty, binary, not UTF-8, missing columns."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    text = decode_head(head)
    first_line = text.splitlines()[0] if text.splitlines() else ""
    columns = {normalise_column(name) for name in first_line.split(",")}
    missing = [name for name in features if name not in columns]
    if missing:
        raise InvalidRequest(f"the uploaded CSV is missing required column(s): {wanted_columns(missing)}")


def job_files(root: Path) -> AbstractContextManager[None]:
    """Turn a full disk while a job's files are written (upload, state) into a one-line 503 (logged by the error
    handler), not a 500."""
    return no_space_as(
        f"no space left for training jobs in '{root.name}', so no job was started; free some space and try again",
        ModelStoreError,
    )


class JobStore:
    """Training jobs on disk under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def folder(self, job_id: str) -> Path:
        """The folder of an existing job; UnknownJob otherwise."""
        folder = self.root / job_id
        if not _JOB_ID.match(job_id) or not (folder / JOB_FILE).is_file():
            raise UnknownJob(f"no training job {job_id[:64]!r}")
        return folder

    def status(self, job_id: str) -> dict[str, Any]:
        """A job's state, with a job whose process is gone reported as failed."""
        job = read_job(self.folder(job_id))
        if job["state"] not in FINAL_STATES:
            beat = job.get("heartbeat") or job["created_epoch"]
            if time.time() - beat > STALE_SECONDS:
                job = {
                    **job,
                    "state": "failed",
                    "error": "the training process stopped without finishing (killed or crashed); no version was added",
                }
        return job

    def running(self) -> int:
        """Jobs queued or running right now."""
        if not self.root.is_dir():
            return 0
        count = 0
        for folder in self.root.iterdir():
            if _JOB_ID.match(folder.name) and (folder / JOB_FILE).is_file():
                try:
                    count += self.status(folder.name)["state"] not in FINAL_STATES
                except (OSError, ValueError, KeyError):
                    continue
        return count

    def create_within_limit(self, params: dict[str, Any], *, limit: int, keep: int) -> tuple[str, Path]:
        """A new queued job, unless `limit` jobs are already queued or running (VersionConflict then).

        Counting and creating happen under one file lock: every worker process (and every host sharing the
        folder) creates jobs here, so two requests at once cannot both see room for one more. Finished jobs
        beyond the newest `keep` are removed first.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(self.root / LOCK_FILE):
            self.prune(keep=keep)
            if self.running() >= limit:
                raise VersionConflict(f"{limit} training job(s) already running: wait for one to finish")
            return self.create(params)

    def prune(self, *, keep: int) -> None:
        """Remove finished jobs (succeeded or failed, as their own job.json says) beyond the newest `keep`."""
        finished: list[tuple[float, Path]] = []
        for folder in self.root.iterdir():
            if not _JOB_ID.match(folder.name):
                continue
            try:
                job = read_job(folder)
            except (OSError, ValueError):
                continue
            # Only a recorded final state: a stale heartbeat may still belong to a live job on a slow disk.
            if job.get("state") in FINAL_STATES:
                finished.append((float(job.get("created_epoch") or 0.0), folder))
        for _, folder in sorted(finished, reverse=True)[keep:]:
            # Renamed first so a reader never finds half a job; then removed.
            trash = self.root / f".deleted-{folder.name}"
            try:
                folder.rename(trash)
            except OSError:
                continue
            shutil.rmtree(trash, ignore_errors=True)

    def create(self, params: dict[str, Any]) -> tuple[str, Path]:
        """A new job folder with its queued state."""
        job_id = uuid.uuid4().hex
        folder = self.root / job_id
        folder.mkdir(parents=True)
        write_job(
            folder,
            {
                "job_id": job_id,
                "state": "queued",
                "created": _now(),
                "created_epoch": time.time(),
                "heartbeat": None,
                "progress": {},
                "version": None,
                "activated": None,
                "error": None,
                "params": params,
            },
        )
        return job_id, folder


def start_training_job(
    *,
    settings: Settings,
    upload: Path | None,
    k: str,
    features: str,
    seed: int,
    activate: bool,
    key: str,
    request_id: str | None = None,
) -> str:
    """Check the request, queue the job and start its process; return the job id."""
    chosen_k = parse_k(k or str(DEFAULT_K))
    chosen_features = parse_features(features)
    if upload is not None:
        check_upload_header(upload, chosen_features)
    store = JobStore(settings.job_root)
    params = {
        "k": chosen_k,
        "features": chosen_features,
        "seed": seed,
        "activate": activate,
        "key_id": key,
        "request_id": request_id,
        "model_dir": str(settings.model_dir),
        "data_file": None if upload is None else UPLOAD_FILE,
        "bundled_data": str(settings.data_path),
        "time_limit_seconds": settings.train_time_limit_seconds,
        "max_rows": settings.train_max_rows,
    }
    job_id, folder = store.create_within_limit(
        params, limit=settings.train_max_concurrent_jobs, keep=settings.train_jobs_kept
    )
    if upload is not None:
        os.replace(upload, folder / UPLOAD_FILE)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    if settings.model_signing_key is not None:
        env["MODEL_SIGNING_KEY"] = settings.model_signing_key.get_secret_value()
    with (folder / LOG_FILE).open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "models", "run-job", str(folder)],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C to the server does not kill a job half-way
        )
    threading.Thread(target=_reap, args=(process, folder), daemon=True, name=f"job-{job_id[:8]}").start()
    logger.info("training job %s started (pid %d)", job_id, process.pid)
    return job_id


def failure_message(exc: BaseException, job: dict[str, Any]) -> str:
    """What a client is told of an unexpected training error: a known cause in plain words, or where to look."""
    if isinstance(exc, MemoryError):
        return "training ran out of memory: try a smaller file, or ask for a lower TRAIN_MAX_ROWS"
    if is_no_space(exc):
        return "no space left to save the new version: free some space and try again"
    request_id = job.get("params", {}).get("request_id") or "-"
    return f"training failed; see the server log (job {job['job_id']}, request id {request_id})"


def _last_line(path: Path) -> str:
    """The last non-empty line of a job's log (the exception, after a traceback), at most 500 characters."""
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - 4096))
            lines = handle.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return "-"
    return next((line.strip()[:500] for line in reversed(lines) if line.strip()), "-")


def _reap(process: subprocess.Popen, folder: Path) -> None:
    """Wait for the job's process; if it died without a final state, record why (no zombie is left)."""
    code = process.wait()
    try:
        job = read_job(folder)
    except (OSError, ValueError):
        return
    if code == 1 and job["state"] == "failed":
        # An unexpected error: the client was told to look here, so say what it was and where the traceback is.
        logger.error(
            "training job %s (request id %s) failed: %s; traceback in %s",
            job["job_id"],
            job.get("params", {}).get("request_id") or "-",
            _last_line(folder / LOG_FILE),
            folder / LOG_FILE,
        )
    if job["state"] not in FINAL_STATES:
        job.update(state="failed", error=f"the training process ended without finishing (exit code {code})")
        write_job(folder, job)
        logger.error("training job %s failed: process exit code %d", job["job_id"], code)


class JobRunner:
    """Inside the job's process: state, heartbeat, progress and time limit, all written to job.json."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.job = read_job(folder)
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def update(self, **changes: Any) -> None:
        """Change the job's state and write it."""
        with self._lock:
            self.job.update(changes)
            self.job["heartbeat"] = time.time()
            write_job(self.folder, self.job)

    def progress(self, event: dict[str, Any]) -> None:
        """Record a progress event from training (rows read, k sweep step)."""
        merged = {**self.job.get("progress", {}), **event}
        self.update(progress=merged)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self.update()
            except OSError as exc:
                # A full disk for a moment (the version being written filled it) skips a beat; the next one retries.
                logger.warning("heartbeat not written: %s", exc)

    def _watchdog(self, limit: float) -> None:
        if not self._stop.wait(limit):
            self.update(state="failed", error=f"training took longer than the limit of {limit:g} s and was stopped")
            os._exit(3)  # the partial version, if any, is only a staging folder: cleaned at the next save

    def run(self) -> int:
        """Train as the job's parameters say; return the process exit code."""
        from app.core.config import get_settings
        from app.core.errors import SegmentationError
        from app.models.training import train

        params = self.job["params"]
        self.update(state="running", pid=os.getpid(), host=socket.gethostname(), started=_now())
        threading.Thread(target=self._beat, daemon=True).start()
        threading.Thread(target=self._watchdog, args=(params["time_limit_seconds"],), daemon=True).start()
        data = self.folder / params["data_file"] if params["data_file"] else Path(params["bundled_data"])
        try:
            result = train(
                data,
                output_dir=Path(params["model_dir"]),
                k=params["k"],
                features=params["features"],
                seed=params["seed"],
                activate=params["activate"],
                signing_key=get_settings().signing_key,
                max_rows=params["max_rows"],
                reason="trained from the API",
                key=params["key_id"],
                progress=self.progress,
            )
        except SegmentationError as exc:
            self._stop.set()
            # The reason is shown to clients: name the upload, never the server's paths.
            self.update(state="failed", error=exc.message.replace(str(data), data.name))
            return 2
        except Exception as exc:  # one line for the job's status, whatever went wrong
            self._stop.set()
            # The whole error goes to the job's log (and from there to the server log, see _reap); clients get a
            # plain sentence: a library's message names internals and may quote the data.
            logger.exception("training job %s failed", self.job["job_id"])
            self.update(state="failed", error=failure_message(exc, self.job))
            return 1
        finally:
            (self.folder / UPLOAD_FILE).unlink(missing_ok=True)
        self._stop.set()
        self.update(state="succeeded", version=result.model.version, activated=result.activated, finished=_now())
        return 0
