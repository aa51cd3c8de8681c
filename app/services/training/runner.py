"""Inside a training job's process (`python -m app.cli models run-job <folder>`): train, and keep job.json told.

The runner writes the job's state, progress and a heartbeat every second to job.json, and stops the process
when the time limit is reached. What to train comes from job.json; where and within which limits, from the
settings the process reads from its environment (see launch.py).
"""

import logging
import os
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any

from app.core.config import Settings
from app.core.errors import SegmentationError, is_no_space
from app.models.rfm.left_out import left_out_notes
from app.models.small_segments import small_segment_notes
from app.services.training.store import BUILT_FOLDER, UPLOAD_FILE, now, read_job, write_job

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 1.0
# What an activation's reason says of where its training was asked for (job.json's `origin`): the /models page (its
# script or its new-segmentation form) or the API. The CLI trains in its own process and says "from the CLI".
TRAINED_FROM = {"page": "trained from the /models page", "api": "trained from the API"}
# A job queued before its origin was kept (an upgrade while it ran) came from one of the two, and which is unknown.
TRAINED_FROM_UNKNOWN = "trained from the API or the /models page"


def trained_from(params: dict[str, Any]) -> str:
    """The activation reason of a job's version: where its training was asked for."""
    return TRAINED_FROM.get(params.get("origin") or "", TRAINED_FROM_UNKNOWN)


def failure_message(exc: BaseException, job: dict[str, Any]) -> str:
    """What a client is told of an unexpected training error: a known cause in plain words, or where to look."""
    if isinstance(exc, MemoryError):
        return "training ran out of memory: try a smaller file, or ask for a lower TRAIN_MAX_ROWS"
    if is_no_space(exc):
        return "no space left to save the new version: free some space and try again"
    request_id = job.get("params", {}).get("request_id") or "-"
    return f"training failed; see the server log (job {job['job_id']}, request id {request_id})"


class JobRunner:
    """Inside the job's process: state, heartbeat, progress and time limit, all written to job.json."""

    def __init__(self, folder: Path, *, settings: Settings) -> None:
        self.folder = folder
        self.settings = settings
        self.job = read_job(folder)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._finish_lock = threading.Lock()
        self._finished = False

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

    def finish(self, **changes: Any) -> None:
        """Write the job's final state, then announce it (the server that started the job may be gone by now); once:
        the watchdog and the training thread may both come to an end, and the first one's is the job's."""
        with self._finish_lock:
            if self._finished:
                return
            self._finished = True
            self.update(**changes)
            from app.services.training.events import notify_job_ended  # the outbox's database layer: only at the end

            notify_job_ended(self.job, self.settings)

    def _watchdog(self, limit: float) -> None:
        if not self._stop.wait(limit):
            self.finish(state="failed", error=f"training took longer than the limit of {limit:g} s and was stopped")
            os._exit(3)  # the partial version, if any, is only a staging folder: cleaned at the next save

    def _train(self, params: dict[str, Any], data: Path) -> Any:
        """Train the version job.json asks for: a segmentation from a file, or a retraining proposal's candidate."""
        settings = self.settings
        if params.get("proposal_id"):
            from app.services.proposals.candidate import train_candidate

            return train_candidate(settings=settings, proposal_id=params["proposal_id"], progress=self.progress)
        from app.models.segmentations.catalog import SegmentationCatalog
        from app.models.segmentations.training import train_segmentation
        from app.services.training.engine import engine_options

        spec = SegmentationCatalog(settings.model_dir).get(params.get("segmentation") or "default")
        # Jobs from before engines trained locally.
        with engine_options(params.get("engine") or "local") as engine:
            return train_segmentation(
                spec,
                data,
                models_root=settings.model_dir,
                k=params["k"],
                features=params["features"],
                seed=params["seed"],
                sweep=params["sweep"],
                activate=params["activate"],
                signing_key=settings.signing_key,
                max_rows=settings.train_max_rows,
                reason=trained_from(params),
                key=params["key_id"],
                progress=self.progress,
                data_name=params.get("data_name"),
                built=self.folder / params["built"] if params.get("built") else None,
                **engine,
            )

    def run(self) -> int:
        """Train what job.json asks for, where and within the limits the settings say; return the exit code."""
        params, settings = self.job["params"], self.settings
        # First thing: once the process exists the job is running. Training's imports (pandas, scikit-learn) take
        # seconds on a busy host, so they come after, covered by the heartbeat and the time limit.
        self.update(state="running", pid=os.getpid(), host=socket.gethostname(), started=now())
        threading.Thread(target=self._beat, daemon=True).start()
        threading.Thread(target=self._watchdog, args=(settings.train_time_limit_seconds,), daemon=True).start()
        data = self.folder / params["data_file"] if params["data_file"] else settings.data_path
        try:
            result = self._train(params, data)
        except SegmentationError as exc:
            self._stop.set()
            if exc.local_message != exc.message:  # a path clients are not told: the job's log, for the server's
                logger.error("training job %s failed: %s", self.job["job_id"], exc.local_message)
            # The reason is shown to clients: name the upload, never the server's paths.
            self.finish(state="failed", error=exc.message.replace(str(data), params.get("data_name") or data.name))
            return 2
        except Exception as exc:  # one line for the job's status, whatever went wrong
            self._stop.set()
            # The whole error goes to the job's log (and from there to the server log, see launch._reap); clients
            # get a plain sentence: a library's message names internals and may quote the data.
            logger.exception("training job %s failed", self.job["job_id"])
            self.finish(state="failed", error=failure_message(exc, self.job))
            return 1
        finally:
            (self.folder / UPLOAD_FILE).unlink(missing_ok=True)
            shutil.rmtree(self.folder / BUILT_FOLDER, ignore_errors=True)
        self._stop.set()
        self.finish(
            state="succeeded",
            version=result.model.version,
            activated=result.activated,
            notes=left_out_notes(result.model.info) + small_segment_notes(result.model.segments),
            finished=now(),
        )
        return 0
