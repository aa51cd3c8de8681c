"""Run rows: kept once scoring succeeded, listed, read, deleted, and removed by retention or to make room."""

import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings
from app.core.errors import is_no_space
from app.db.session import unavailable_as
from app.db.tables import Run
from app.services.notifications.events import RUN_FINISHED, emit_on
from app.services.runs import store
from app.services.runs.errors import RunGone, UnknownRun
from app.services.runs.store import RunFile
from app.utils.csv_head import uses_decimal_comma

if TYPE_CHECKING:
    from app.models.segmentations.registries import Segmentations

logger = logging.getLogger(__name__)

RUN_ID = re.compile(r"^[0-9a-f]{32}$")
EXPIRED = "older than RUNS_RETENTION_DAYS"
OVER_COUNT = "more runs than RUNS_KEPT"
EVICTED = "evicted to keep the results store within RESULTS_MAX_BYTES"
MISSING = "its file is missing from the results store"
# Listing runs purges expired ones (a write) at most this often per process and store: keeping a run purges too.
PURGE_EVERY_SECONDS = 60.0


# Why a scored file was not kept as a run, as the answer tells its client (X-Run-Not-Kept, the page's note).
TOO_LARGE = "the labelled file is larger than RESULTS_MAX_BYTES"
DISK_FULL = "the disk is full"
DATABASE_DOWN = "the database is unavailable"
STORE_UNWRITABLE = "the results store could not be written"
# What SQLite (SQLITE_FULL) and PostgreSQL (53100 disk_full) say when their disk is full.
_DISK_FULL_SAID = ("database or disk is full", "no space left on device", "disk full")


@dataclass(frozen=True)
class KeptRun:
    """What keeping a scored file as a run came to: its id, or why it was not kept (both None: nothing to keep)."""

    run_id: str | None = None
    not_kept: str | None = None


def not_kept_reason(exc: BaseException) -> str:
    """Why a run could not be kept, in words for its client: a full disk (the database's or the store's), else the
    database or the results store failing."""
    if isinstance(exc, OSError):
        return DISK_FULL if is_no_space(exc) else STORE_UNWRITABLE
    said = str(getattr(exc, "orig", None) or exc).lower()
    if getattr(getattr(exc, "orig", None), "sqlstate", None) == "53100" or any(s in said for s in _DISK_FULL_SAID):
        return DISK_FULL
    return DATABASE_DOWN


_database_errors = unavailable_as("the runs cannot be read from the database right now ({error})")


def keep_scored_run(
    *,
    sessions: sessionmaker[Session],
    settings: Settings,
    run_file: RunFile,
    summary: dict[str, Any],
    segmentation: str,
    file_name: str,
    source: str,
    keep_also: Path | None = None,
) -> KeptRun:
    """Record a scored file as a run once scoring succeeded: its file renamed into place, then its row.

    Returns the run id, or none when there is no run to keep (no customer scored), or why it could not be kept (its
    file alone over RESULTS_MAX_BYTES, the database unreachable, the disk full): the scoring answer still goes out,
    saying so. `keep_also` (the /score page's download of the same file) is never removed to make room.
    """
    results_dir = settings.score_results_dir
    if not summary["scored"]:
        run_file.discard()
        return KeptRun()
    try:
        size = run_file.commit()
        if size > settings.results_max_bytes:
            logger.warning("run not kept: its file (%d bytes) is over RESULTS_MAX_BYTES", size)
            run_file.discard()
            return KeptRun(not_kept=TOO_LARGE)
        with sessions() as session:
            kept = {run_file.path, *([keep_also] if keep_also else [])}
            _make_room(session, results_dir, keep=kept, max_bytes=settings.results_max_bytes)
            session.add(
                Run(
                    id=run_file.run_id,
                    created_at=datetime.now(UTC),
                    segmentation=segmentation,
                    model_version=summary["model_version"],
                    file_name=file_name[:255],
                    source=source,
                    rows=summary["rows"],
                    scored=summary["scored"],
                    customer_id_column=(summary.get("columns") or {}).get("customer_id"),
                    summary=summary,
                    file_bytes=size,
                )
            )
            # In the run's own transaction: the event exists exactly when the run does.
            emit_on(session.connection(), event=RUN_FINISHED, payload=_finished(settings, run_file.run_id, summary,
                    segmentation=segmentation, file_name=file_name), key=f"run:{run_file.run_id}")  # fmt: skip
            session.commit()
    except (SQLAlchemyError, OSError) as exc:
        logger.exception("run not kept: the scored file could not be recorded")
        run_file.discard()
        return KeptRun(not_kept=not_kept_reason(exc))
    # The run is kept from here on: housekeeping that fails now costs a warning, never the run (or its webhook's file).
    try:
        with sessions() as session:
            purge_runs(session=session, settings=settings)
            tidy_runs(session=session, results_dir=results_dir)
    except (SQLAlchemyError, OSError):
        logger.warning("runs housekeeping after keeping run %s failed; it runs again with the next", run_file.run_id)
    # Off the answer's path: the heads file and the index, for a worker that has not read the run yet.
    from app.services.runs.index import write_indexes_later

    write_indexes_later(run_file.path, decimal_comma=decimal_comma(summary), max_bytes=settings.results_max_bytes)
    return KeptRun(run_id=run_file.run_id)


def _finished(settings: Settings, run_id: str, summary: dict[str, Any], *, segmentation: str, file_name: str) -> dict:
    """The run.finished payload: what was scored, and links a CRM automation can pull the labelled file from."""
    run_url = f"{settings.base_url.rstrip('/')}/api/v1/runs/{run_id}"
    return {
        "run_id": run_id,
        "segmentation": segmentation,
        "model_version": summary["model_version"],
        "file_name": file_name,
        "rows": summary["rows"],
        "scored": summary["scored"],
        "segments": [
            {"segment_id": item.get("segment_id"), "segment_name": item.get("segment_name"), "count": item.get("count")}
            for item in summary.get("segments", [])
        ],
        "links": {"run": run_url, "file": f"{run_url}/file?format=csv", "parquet": f"{run_url}/file?format=parquet"},
    }


def _remove(session: Session, run: Run, results_dir: Path, *, reason: str, now: datetime) -> None:
    store.remove_run_files(results_dir, run.id)
    run.removed_at, run.removed_reason = now, reason


def _make_room(session: Session, results_dir: Path, *, keep: set[Path], max_bytes: int) -> None:
    """Delete the oldest other results (downloads and runs) until `keep` and the rest fit in `max_bytes`.

    Run indexes count too, and go first: a run without its index still answers every page, only slower.
    """
    total = store.drop_indexes(results_dir, max_bytes=max_bytes, spare=frozenset(path.stem for path in keep))
    kept = store.results_usage(results_dir)
    # The indexes left are those of the runs kept: removing one of those runs removes its index too.
    indexes = {folder.name: size for _, size, folder in store.index_usage(results_dir)}
    now = datetime.now(UTC)
    for _, size, path in kept:
        if total <= max_bytes:
            break
        if path in keep:
            continue
        run = session.get(Run, path.stem) if path.parent == store.runs_dir(results_dir) else None
        if run is not None:
            _remove(session, run, results_dir, reason=EVICTED, now=now)
            total -= indexes.pop(run.id, 0)
        else:
            path.unlink(missing_ok=True)
        total -= size
    session.commit()


def purge_runs(*, session: Session, settings: Settings, now: datetime | None = None) -> int:
    """Remove the files of runs past RUNS_RETENTION_DAYS or beyond the newest RUNS_KEPT; rows of runs removed
    longer ago than the retention go too. Returns how many files were removed."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=settings.runs_retention_days)
    live = session.scalars(select(Run).where(Run.removed_at.is_(None)).order_by(Run.created_at.desc())).all()
    removed = 0
    for position, run in enumerate(live):
        reason = EXPIRED if run.created_at < cutoff else OVER_COUNT if position >= settings.runs_kept else None
        if reason is not None:
            _remove(session, run, settings.score_results_dir, reason=reason, now=now)
            removed += 1
    session.execute(delete(Run).where(Run.removed_at < cutoff))
    session.commit()
    return removed


_purge_lock = threading.Lock()
_purged_at: dict[tuple[str, str], float] = {}


def purge_due(settings: Settings, *, now: float | None = None) -> bool:
    """Whether a listing should purge: true at most once per PURGE_EVERY_SECONDS for a database and results store."""
    now = time.monotonic() if now is None else now
    key = (settings.database_url.get_secret_value(), str(settings.score_results_dir))
    with _purge_lock:
        if now - _purged_at.get(key, float("-inf")) < PURGE_EVERY_SECONDS:
            return False
        _purged_at[key] = now
        return True


def tidy_runs(*, session: Session, results_dir: Path) -> list[str]:
    """Remove run files that a killed server left half-written or never recorded."""
    known = set(session.scalars(select(Run.id)).all())
    return store.tidy(results_dir, known=known)


@_database_errors
def list_runs(
    *,
    session: Session,
    settings: Settings,
    segmentation: str | None = None,
    limit: int = 100,
    segmentations: "Segmentations | None" = None,
) -> list[Run]:
    """Runs newest first (removed ones too, saying when), of one segmentation when given: UnknownSegmentation when
    `segmentations` knows no such segmentation and no run has it."""
    if purge_due(settings):
        purge_runs(session=session, settings=settings)
    query = select(Run).order_by(Run.created_at.desc()).limit(limit)
    if segmentation is not None:
        query = query.where(Run.segmentation == segmentation)
    runs = list(session.scalars(query).all())
    if segmentation is not None and not runs and segmentations is not None:
        # Checked only when nothing was found: a deleted segmentation's kept runs stay listed.
        segmentations.require(segmentation)
    return runs


@_database_errors
def find_run(*, session: Session, run_id: str) -> Run:
    """The run's row, removed or not (404 when there is none)."""
    run = session.get(Run, run_id) if RUN_ID.match(run_id) else None
    if run is None:
        raise UnknownRun(run_id)
    return run


@_database_errors
def get_run(*, session: Session, settings: Settings, run_id: str) -> Run:
    """A run whose file is still kept: 404 when unknown, 410 with the date when retention or room removed it."""
    run = find_run(session=session, run_id=run_id)
    now = datetime.now(UTC)
    if run.removed_at is None:
        if run.created_at < now - timedelta(days=settings.runs_retention_days):
            _remove(session, run, settings.score_results_dir, reason=EXPIRED, now=now)
        elif not store.run_path(settings.score_results_dir, run.id).is_file():
            _remove(session, run, settings.score_results_dir, reason=MISSING, now=now)
        session.commit()
    if run.removed_at is not None:
        raise RunGone(run.id, removed_at=run.removed_at, reason=run.removed_reason)
    return run


@_database_errors
def delete_run(*, session: Session, settings: Settings, run_id: str) -> None:
    """Delete a run: its row, then its file (404 when another request deleted it first)."""
    run = find_run(session=session, run_id=run_id)
    # A conditional delete: of requests deleting the same run at once, only the one whose DELETE took the row succeeds.
    # The ORM copy of the row goes with it (synchronize_session), or flushing its pending changes would find no row.
    deleted = session.execute(delete(Run).where(Run.id == run.id))
    if deleted.rowcount != 1:
        session.rollback()
        raise UnknownRun(run_id)
    # The row first: a commit that fails leaves the run whole, and files no row names are purged later.
    session.commit()
    store.remove_run_files(settings.score_results_dir, run.id)


def run_out(run: Run) -> dict[str, Any]:
    """A run as JSON-ready data."""
    return {
        "run_id": run.id,
        "created_at": run.created_at.isoformat(),
        "segmentation": run.segmentation,
        "model_version": run.model_version,
        "file_name": run.file_name,
        "source": run.source,
        "rows": run.rows,
        "scored": run.scored,
        "customer_id_column": run.customer_id_column,
        "file_bytes": run.file_bytes,
        "removed_at": run.removed_at.isoformat() if run.removed_at else None,
        "removed_reason": run.removed_reason,
        "summary": run.summary,
    }


def decimal_comma(summary: dict[str, Any] | None) -> bool:
    """Whether a run's file used decimal commas: a ';' file, as the scoring read it."""
    return uses_decimal_comma((summary or {}).get("delimiter") or ",")
