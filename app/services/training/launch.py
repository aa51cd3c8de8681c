"""Starting a training job: check the request, queue it, start its process and reap it when it ends.

The trainer is `python -m app.cli models run-job <folder>`, a separate process: serving never trains in its
event loop or thread pool.

How the process learns what to do, one rule: job.json holds only what to train, the request (k, features,
seed, sweep, activate, engine, the admin key's id, the request id, the uploaded file's name, and the folder of an RFM
upload's customer table when the request's check built it). The server's configuration
(model folder, bundled data, time limit, row limit, signing key) reaches the process only through its
environment, built from the app's Settings by `job_environment`, and the process reads it with `Settings()`.
So a job trains with the settings of the app that started it, whatever the server's own environment says,
and the signing key is never written to the job's folder or logged.
"""

import csv
import logging
import os
import re
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from app.core.config import PROJECT_ROOT, Settings
from app.core.errors import InvalidDataset, InvalidRequest, TrainerUnavailable
from app.core.metrics import record_training_job_ended
from app.models import clustering
from app.models.clustering import DEFAULT_K
from app.models.features import DEFAULT_FEATURES, FEATURES, Feature, columns_read_alike, find_column, wanted_columns
from app.models.segmentations.catalog import SegmentationCatalog
from app.models.segmentations.spec import DEFAULT_NAME, RfmOptions
from app.services.csv_text import HEAD_BYTES, decode_head
from app.services.dask_extra import require_dask
from app.services.training.engine import ENGINES
from app.services.training.events import notify_job_ended
from app.services.training.store import (
    BUILT_FOLDER,
    FINAL_STATES,
    LOG_FILE,
    UPLOAD_FILE,
    JobStore,
    read_job,
    unfinished,
    write_job,
)
from app.utils.csv_head import UNNAMED_TAIL, row_names, sniff_head

logger = logging.getLogger(__name__)

# The settings a job's process uses: passed in its environment, so they are the starting app's (see above).
# The database: a proposal's candidate reads the prediction log and writes the proposal's comparison, and the job
# announces its own end (events.py); AUTO_PROMOTE and its agreement threshold: the candidate's job decides whether it
# is promoted; NOTIFICATIONS_ENABLED: whether the job announces its end at all.
JOB_SETTINGS = (
    "model_dir",
    "data_path",
    "train_time_limit_seconds",
    "train_max_rows",
    "model_signing_key",
    "database_url",
    "auto_promote",
    "auto_promote_min_agreement",
    "notifications_enabled",
)


def parse_k(value: str) -> int | str:
    """'auto' or a whole number within the supported range; InvalidRequest otherwise."""
    try:
        return clustering.parse_k(value)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None


def feature_names(value: str) -> list[str]:
    """The names a features field gives, separated by commas or spaces (none when it is left empty)."""
    return [name for name in re.split(r"[,\s]+", value.strip()) if name]


def parse_features(value: str) -> list[str]:
    """The default segmentation's features a field names (its two when none); InvalidRequest for unknown or twice."""
    names = feature_names(value) or list(DEFAULT_FEATURES)
    if len(set(names)) != len(names) or any(name not in FEATURES for name in names):
        raise InvalidRequest(f"features must be distinct names from: {', '.join(FEATURES)}")
    return names


def check_upload_header(path: Path, features: list[str] | list[Feature]) -> None:
    """Refuse at once what training would refuse from the first line: empty, binary, not UTF-8, a header line longer
    than the head, two columns read as one, missing columns."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    decode_head(head)  # its refusal in a request's words
    style = sniff_head(head)
    if not style.complete:
        # Its last name cut at the head's end could pass for a column the header names whole (c10947 read as c109).
        raise InvalidRequest(
            f"the header line is longer than {HEAD_BYTES // 1024} KiB; a customer file's header names its columns "
            "in far less"
        )
    header = [name.strip() for name in next(csv.reader([style.header_line], delimiter=style.delimiter), [])]
    # As training reads it: a delimiter ending the header line or the rows is no column.
    names = [name for name in row_names(header, style.first_row) if name != UNNAMED_TAIL]
    problem = columns_read_alike(names)
    if problem:
        raise InvalidRequest(problem)
    # Found as training will find them (app/models/features.find_column): one rule for a feature's column.
    try:
        missing = [f for f in features if find_column(names, FEATURES[f] if isinstance(f, str) else f) is None]
    except InvalidDataset as exc:
        raise InvalidRequest(exc.message) from None
    if missing:
        raise InvalidRequest(f"the uploaded CSV is missing required column(s): {wanted_columns(missing)}")


def check_transactions_sample(path: Path, options: RfmOptions | None) -> None:
    """Refuse at once a transactions file whose sample (its start and evenly spaced places) has no customer id, no
    readable date or no amount: what training would find only after reading the whole file."""
    from app.models.rfm.build import prepare  # RFM only: pyarrow
    from app.models.rfm.source import read_sample

    layout, columns, _ = prepare(path, options or RfmOptions())
    sample = read_sample(path, layout, [columns.customer_id, *columns.amount_columns])
    if sample.num_rows and sample.column(columns.customer_id).null_count == sample.num_rows:
        raise InvalidRequest(f"no sampled row has a customer id in the {columns.customer_id!r} column")
    if sample.num_rows and all(sample.column(name).null_count == sample.num_rows for name in columns.amount_columns):
        named = " and ".join(repr(name) for name in columns.amount_columns)
        raise InvalidRequest(f"every sampled amount is missing: the {named} column(s) are empty")


def job_environment(*, settings: Settings) -> dict[str, str]:
    """The environment of a job's process: the server's, with every setting a job uses taken from `settings`."""
    # Setting names are case-insensitive: a `model_dir` inherited beside MODEL_DIR could otherwise win.
    env = {name: value for name, value in os.environ.items() if name.lower() not in JOB_SETTINGS}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    for name in JOB_SETTINGS:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        # Set even when unset here ("" reads as None), so a value in the server's environment or .env cannot win.
        env[name.upper()] = "" if value is None else str(value)
    return env


def _base_name(filename: str | None) -> str | None:
    """A file name as a browser or client sent it, without folders, cut to 100 characters; None when empty."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:100] or None


def start_training_job(
    *,
    settings: Settings,
    upload: Path | None,
    k: str,
    features: str,
    seed: int,
    activate: bool,
    key: str,
    sweep: bool = False,
    request_id: str | None = None,
    upload_name: str | None = None,
    segmentation: str = DEFAULT_NAME,
    engine: str = "local",
    origin: str = "api",
    built: Path | None = None,
) -> str:
    """Check the request, queue the job and start its process; return the job id. `origin`: where it was asked for,
    `api` or `page` (the /models page), for the activation history. `built`: a folder where an RFM upload's customer
    table was built already (moved into the job, which trains on it rather than building it again)."""
    if engine not in ENGINES:
        raise InvalidRequest(f"engine must be one of: {', '.join(ENGINES)}; got {engine[:20]!r}")
    if engine == "dask":
        require_dask()  # now, not in the job's process once it has been accepted
    chosen_k = parse_k(k or str(DEFAULT_K))
    spec = SegmentationCatalog(settings.model_dir).get(segmentation)
    if segmentation == DEFAULT_NAME:
        chosen_features = parse_features(features)
    else:
        given = feature_names(features)
        # A segmentation's features are its spec's; without an upload there is no file of its columns to train on.
        chosen_features = spec.feature_names
        if given and sorted(given) != sorted(chosen_features):
            raise InvalidRequest(
                f"segmentation {segmentation!r} trains on the features it was created with "
                f"({', '.join(chosen_features)}): leave `features` out"
            )
        if upload is None:
            raise InvalidRequest(f"send the file to train segmentation {segmentation!r} on (the `file` field)")
    if upload is not None and spec.kind == "rfm":
        check_transactions_sample(upload, spec.rfm)
    if upload is not None and spec.kind == "columns":
        check_upload_header(upload, list(spec.features) if segmentation != DEFAULT_NAME else chosen_features)
    request = {
        "segmentation": segmentation,
        "k": chosen_k,
        "features": chosen_features,
        "seed": seed,
        "sweep": sweep or chosen_k == "auto",  # 'auto' chooses from the sweep
        "activate": activate,
        "engine": engine,
        "origin": origin,
        "key_id": key,
        "request_id": request_id,
        "data_file": None if upload is None else UPLOAD_FILE,
        # The upload's own base name, recorded with the version so versions from different files tell apart.
        "data_name": _base_name(upload_name) if upload is not None else None,
        "built": BUILT_FOLDER if upload is not None and built is not None else None,
    }
    return start_job(settings=settings, request=request, upload=upload, built=built)


@dataclass(frozen=True)
class Reservation:
    """A queued job whose process is not started yet: it holds one of the running jobs' slots, its files are in."""

    job_id: str
    folder: Path
    # Where the upload was before it was moved in: put back when the job never starts, so the request can be resent.
    upload: Path | None = None


def reserve_job(
    *, settings: Settings, request: dict, upload: Path | None = None, built: Path | None = None
) -> Reservation:
    """Queue a checked request (job.json's params) and move its files in (VersionConflict, 409, when the limit of
    running jobs is reached). Nothing is left reserved when this fails."""
    job_id, folder = JobStore(settings.job_root).create_within_limit(
        request, limit=settings.train_max_concurrent_jobs, keep=settings.train_jobs_kept
    )
    reservation = Reservation(job_id, folder, upload)
    try:
        if upload is not None:
            os.replace(upload, folder / UPLOAD_FILE)
            if built is not None:
                os.replace(built, folder / BUILT_FOLDER)  # one rename: the job finds the whole folder or none
    except BaseException:
        release(reservation, settings=settings)
        raise
    return reservation


def release(reservation: Reservation, *, settings: Settings) -> None:
    """Give back a job whose process never started: its upload to where it came from, its slot (the folder goes)."""
    moved = reservation.folder / UPLOAD_FILE
    if reservation.upload is not None and moved.exists():
        try:
            os.replace(moved, reservation.upload)
        except OSError as exc:
            logger.warning("the upload of job %s could not be put back: %s", reservation.job_id, exc)
    try:
        JobStore(settings.job_root).discard(reservation.folder)
    except OSError as exc:
        # Its heartbeat never comes: the job is reported failed, and frees its slot, STALE_SECONDS after it was queued.
        logger.warning("job %s, which never started, could not be removed: %s", reservation.job_id, exc)


def launch_job(*, reservation: Reservation, settings: Settings) -> str:
    """Start a reserved job's process and return the job id. When it cannot start, the job is released first (see
    `release`): TrainerUnavailable (503) when the process could not be created, the OSError when its log could not."""
    folder, job_id = reservation.folder, reservation.job_id
    process: subprocess.Popen | None = None
    try:
        with (folder / LOG_FILE).open("wb") as log:
            try:
                process = subprocess.Popen(
                    [sys.executable, "-m", "app.cli", "models", "run-job", str(folder)],
                    cwd=PROJECT_ROOT,
                    env=job_environment(settings=settings),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # a Ctrl-C to the server does not kill a job half-way
                )
            except OSError as exc:
                logger.error("training job %s: its process could not be started: %s", job_id, exc)
                raise TrainerUnavailable(
                    "the server could not start the training process, so no job was started; try again later"
                ) from exc
    except BaseException:
        # Closing the log can fail after the process started (a full disk): a running job is never released.
        if process is None:
            release(reservation, settings=settings)
            raise
        logger.exception("training job %s runs, but its log file could not be closed", job_id)
    # From here the job runs: whatever happens next, it must not be reported as not started.
    try:
        threading.Thread(target=_reap, args=(process, folder, settings), daemon=True, name=f"job-{job_id[:8]}").start()
    except RuntimeError:
        logger.exception("training job %s runs, but nothing waits for its process to end", job_id)
    logger.info("training job %s started (pid %d)", job_id, process.pid)
    return job_id


def start_job(*, settings: Settings, request: dict, upload: Path | None = None, built: Path | None = None) -> str:
    """Queue a checked request (job.json's params) and start its process; return the job id (409 when the limit of
    running jobs is reached). When it cannot start, nothing holds a slot and the upload is back where it was."""
    reservation = reserve_job(settings=settings, request=request, upload=upload, built=built)
    return launch_job(reservation=reservation, settings=settings)


def _last_line(path: Path) -> str:
    """The last non-empty line of a job's log (the exception, after a traceback), at most 500 characters."""
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - 4096))
            lines = handle.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return "-"
    return next((line.strip()[:500] for line in reversed(lines) if line.strip()), "-")


def _reap(process: subprocess.Popen, folder: Path, settings: Settings | None = None) -> None:
    """Wait for the job's process; if it died without a final state, record why (no zombie is left)."""
    code = process.wait()
    try:
        job = read_job(folder)
    except (OSError, ValueError):
        # Its state is unreadable, so it did not end as a job that succeeded.
        record_training_job_ended(state="failed")
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
        cause = f"the training process ended without finishing (exit code {code})"
        job = unfinished(job, cause=cause, model_dir=settings.model_dir if settings is not None else None)
        write_job(folder, job)
        logger.error("training job %s failed: process exit code %d", job["job_id"], code)
    # Here, once per job: only the server that started the process waits for it, and its state is now final.
    record_training_job_ended(state=job["state"])
    if settings is not None:
        notify_job_ended(job, settings)


def settle_orphaned_jobs(*, settings: Settings) -> list[str]:
    """At start-up: record failed, and announce, the jobs of this host whose process is gone without a final state
    (killed with the server that started them, or by a restart of the host), since no server is left to reap them.
    Returns their ids."""
    settled = []
    for folder in JobStore(settings.job_root).orphans(host=socket.gethostname()):
        try:
            job = read_job(folder)
            if job["state"] in FINAL_STATES:  # reaped meanwhile by the server that started it
                continue
            cause = "the training process ended without finishing (stopped with its server, or the host restarted)"
            job = unfinished(job, cause=cause, model_dir=settings.model_dir)
            write_job(folder, job)
        except (OSError, ValueError, KeyError):
            continue
        logger.error("training job %s failed: its process was gone when the server started", job["job_id"])
        record_training_job_ended(state="failed")
        notify_job_ended(job, settings)
        settled.append(job["job_id"])
    return settled
