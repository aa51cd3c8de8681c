"""Training jobs on disk: one folder per job, its state in job.json, shared by every worker and host.

A job is a folder `<jobs>/<job_id>/` with `job.json` (state, progress, result and the request; replaced
atomically), the uploaded CSV and the process's log. Its process writes a heartbeat every second, so any
worker can tell a job whose process was killed from one still running.
"""

import json
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.core.errors import ModelStoreError, SegmentationError, UnknownJob, VersionConflict, no_space_as
from app.utils.files import atomic_replace
from app.utils.locking import exclusive_lock
from app.utils.processes import pid_alive

JOB_FILE = "job.json"
UPLOAD_FILE = "upload.csv"
# An RFM upload's customer table, built by the request's check and moved in whole (see segmentation_setup).
BUILT_FOLDER = "customers"
LOG_FILE = "log.txt"
# Held while jobs are counted and one is created (not a job folder: job ids are 32 hex digits).
LOCK_FILE = ".create.lock"
# A running job whose heartbeat is older than this has lost its process (killed, crashed, host gone).
STALE_SECONDS = 15.0
FINAL_STATES = ("succeeded", "failed")
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")


def job_segmentation(job: dict[str, Any]) -> str:
    """The segmentation a job trains (jobs from before segmentations trained `default`)."""
    return str(job.get("params", {}).get("segmentation") or "default")


def now() -> str:
    """The current time as job.json records it."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def write_job(folder: Path, job: dict[str, Any]) -> None:
    """Replace job.json atomically, so a reader never sees half a state."""
    with atomic_replace(folder / JOB_FILE) as handle:
        handle.write(json.dumps(job).encode())


def read_job(folder: Path) -> dict[str, Any]:
    """job.json of a job folder."""
    return json.loads((folder / JOB_FILE).read_text(encoding="utf-8"))


def unfinished(job: dict[str, Any], *, cause: str, model_dir: Path | None) -> dict[str, Any]:
    """A job whose process ended without recording a final state, as failed: with the version it had saved, when it
    was killed between saving it and finishing (training records the version's id in `progress` as it starts saving).
    """
    failed = {**job, "state": "failed", "error": f"{cause}; no version was added"}
    version = (job.get("progress") or {}).get("version")
    if not isinstance(version, str) or model_dir is None:
        return failed
    # Here, not at import: a job's process imports this module before anything heavy (see runner.run).
    from app.models.segmentations.catalog import SegmentationCatalog
    from app.models.versions.store import VersionStore

    try:
        store = VersionStore(SegmentationCatalog(model_dir).folder(job_segmentation(job)))
        if version not in store.versions():
            return failed
        active = store.active_version() == version
    except (OSError, SegmentationError):
        return failed
    if active:
        outcome = ", which is active"
    elif job.get("params", {}).get("activate"):
        outcome = ", before activating it"
    else:
        outcome = ""
    return {
        **job,
        "state": "failed",
        "version": version,
        "activated": active,
        "error": f"{cause} after saving version {version}{outcome}",
    }


def job_files(root: Path) -> AbstractContextManager[None]:
    """Turn a full disk while a job's files are written (upload, state) into a one-line 503 (logged by the error
    handler), not a 500."""
    return no_space_as(
        f"no space left for training jobs in '{root.name}', so no job was started; free some space and try again",
        ModelStoreError,
    )


class JobStore:
    """Training jobs on disk under one folder."""

    def __init__(self, root: Path, *, model_dir: Path | None = None) -> None:
        self.root = Path(root)
        # Where the jobs' versions are: a job killed after saving its version reports it (see `unfinished`).
        self.model_dir = model_dir

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
                cause = "the training process stopped without finishing (killed or crashed)"
                job = unfinished(job, cause=cause, model_dir=self.model_dir)
        return job

    def recent(self, *, segmentation: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The newest jobs first (of one segmentation, when one is named), as `status` reports each."""
        if not self.root.is_dir():
            return []
        jobs = []
        for folder in self.root.iterdir():
            if _JOB_ID.match(folder.name) and (folder / JOB_FILE).is_file():
                try:
                    job = self.status(folder.name)
                except (OSError, ValueError, KeyError, UnknownJob):
                    continue  # removed by a prune meanwhile, or half written
                if segmentation is None or job_segmentation(job) == segmentation:
                    jobs.append(job)
        jobs.sort(key=lambda job: float(job.get("created_epoch") or 0.0), reverse=True)
        return jobs[:limit]

    def running(self, *, segmentation: str | None = None) -> int:
        """Jobs queued or running right now (of one segmentation, when one is named)."""
        if not self.root.is_dir():
            return 0
        count = 0
        for folder in self.root.iterdir():
            if _JOB_ID.match(folder.name) and (folder / JOB_FILE).is_file():
                try:
                    job = self.status(folder.name)
                    mine = segmentation is None or job_segmentation(job) == segmentation
                    count += mine and job["state"] not in FINAL_STATES
                except (OSError, ValueError, KeyError):
                    continue
        return count

    def orphans(self, *, host: str) -> list[Path]:
        """Folders of the jobs that ran on `host` and whose process is gone without recording a final state."""
        found = []
        for folder, job in self._recorded():
            pid = job.get("pid")
            mine = job.get("host") == host and isinstance(pid, int)
            if mine and job.get("state") not in FINAL_STATES and not pid_alive(pid):
                found.append(folder)
        return found

    def create_within_limit(self, params: dict[str, Any], *, limit: int, keep: int) -> tuple[str, Path]:
        """A new queued job, unless `limit` jobs are already queued or running (VersionConflict then).

        Counting and creating happen under one file lock: every worker process (and every host sharing the
        folder) creates jobs here, so two requests at once cannot both see room for one more. Finished jobs
        beyond the newest `keep` are removed first.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(self.root / LOCK_FILE):
            self.prune(keep=keep)
            self.refuse_when_full(limit=limit)
            return self.create(params)

    def refuse_when_full(self, *, limit: int) -> None:
        """VersionConflict (409) when `limit` jobs are already queued or running."""
        if self.running() >= limit:
            raise VersionConflict(f"{limit} training job(s) already running: wait for one to finish")

    def prune(self, *, keep: int) -> None:
        """Remove finished jobs (succeeded or failed, as their own job.json says) beyond the newest `keep`."""
        finished: list[tuple[float, Path]] = []
        for folder, job in self._recorded():
            # Only a recorded final state: a stale heartbeat may still belong to a live job on a slow disk.
            if job.get("state") in FINAL_STATES:
                finished.append((float(job.get("created_epoch") or 0.0), folder))
        for _, folder in sorted(finished, reverse=True)[keep:]:
            try:
                self._remove(folder)
            except OSError:
                continue

    def forget(self, *, segmentation: str) -> None:
        """Remove a deleted segmentation's finished jobs, so a new one of its name lists none of them."""
        for folder, job in list(self._recorded()):
            if job_segmentation(job) == segmentation and job.get("state") in FINAL_STATES:
                try:
                    self._remove(folder)
                except OSError:
                    continue

    def discard(self, folder: Path) -> None:
        """Remove a job whose process never started, so that it holds no slot; when its folder cannot be removed, it is
        recorded failed instead (OSError when neither can be done)."""
        try:
            self._remove(folder)
        except OSError:
            job = read_job(folder)
            job.update(state="failed", error="its training process could not be started")
            write_job(folder, job)

    def _recorded(self) -> Iterator[tuple[Path, dict[str, Any]]]:
        """Every job folder with its job.json as written, skipping one removed or half written meanwhile."""
        if not self.root.is_dir():
            return
        for folder in self.root.iterdir():
            if not _JOB_ID.match(folder.name):
                continue
            try:
                yield folder, read_job(folder)
            except (OSError, ValueError):
                continue

    def _remove(self, folder: Path) -> None:
        """Remove a job folder: renamed first so a reader never finds half a job (OSError when it cannot be)."""
        trash = self.root / f".deleted-{folder.name}"
        folder.rename(trash)
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
                "created": now(),
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
