"""The drift evaluator: every few minutes one process computes each segmentation's drift over the last 24 hours,
stores it (drift_checks) and exports it (drift_status).

Every server process runs one evaluator thread, but only one evaluates at a time: each tick takes a lock that holds
across processes and hosts (app/db/locks.py: an advisory lock on PostgreSQL, a file lock beside a SQLite database)
without waiting for it. Under the lock a segmentation is evaluated only when its newest stored evaluation is older
than the interval (or was of another model version), so however many workers run, each segmentation is evaluated
about once per interval. A tick that finds it not due publishes the stored verdict instead, so a restarted worker
exports it at once.

A verdict is stored in one transaction with what it causes: drift.changed when the status changed, and, when it
turns to `drift`, a retraining proposal (app/services/proposals) unless one was created within the cooldown. The
lock makes that check and the insert one step for all workers; the proposal's candidate job starts after the commit.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.core.errors import SegmentationError
from app.core.metrics import record_drift_status
from app.db.errors import db_error_reason
from app.db.locks import try_singleton_lock
from app.db.session import session_factory
from app.db.tables import DriftCheck, RetrainProposal
from app.models.model import SegmentationModel
from app.models.segmentations.registries import Segmentations
from app.services.monitoring import history
from app.services.monitoring.drift import drift_report
from app.services.monitoring.retry import DatabasePreparation
from app.services.monitoring.windows import DEFAULT_SPAN, time_window
from app.services.notifications.events import DRIFT_CHANGED, emit_on
from app.services.proposals.records import announce, propose_on_drift
from app.services.shutdown import WorkerThread

logger = logging.getLogger(__name__)

LOCK_NAME = "drift-evaluator"
# Key of the PostgreSQL advisory lock (the migration lock is 0x5E614DB).
LOCK_KEY = 0x5E6_D71F
# A stored evaluation younger than this share of the interval is fresh: ticks of several workers a little out of
# step do not evaluate twice.
FRESH_SHARE = 0.9
# Seconds after start before the first tick: the server is up first.
FIRST_TICK_SECONDS = 5.0


@dataclass(frozen=True)
class DriftProposals:
    """Retraining proposals from drift: at most one per segmentation per `cooldown`, and what starts a stored
    proposal's candidate (its training job)."""

    cooldown: timedelta
    start: Callable[[RetrainProposal], None]


def served_models(segmentations: Segmentations) -> dict[str, SegmentationModel]:
    """The model each segmentation serves now (those serving none are left out)."""
    served = {}
    for name in segmentations.names():
        try:
            active = segmentations.registry(name).active
        except SegmentationError:
            # Deleted by another process since it was listed.
            continue
        if active is not None:
            served[name] = active
    return served


class DriftEvaluator(WorkerThread):
    """One thread that evaluates drift every `interval` seconds, when this process holds the evaluation lock; told
    to stop, it ends after the evaluation under way."""

    name = "drift evaluator"
    thread_name = "drift-evaluator"

    def __init__(
        self,
        engine: Engine,
        models: Callable[[], dict[str, SegmentationModel]],
        *,
        interval: float,
        database: DatabasePreparation | None = None,
        first_tick: float = FIRST_TICK_SECONDS,
        retention_days: int = 30,
        proposals: DriftProposals | None = None,
    ) -> None:
        self.engine = engine
        self.proposals = proposals
        self.models = models
        self.interval = interval
        self.first_tick = min(first_tick, interval)
        self.retention_days = retention_days
        self._database = database
        self._sessions = session_factory(engine)
        self._stop = threading.Event()

    def _run(self) -> None:
        delay = self.first_tick
        while not self._stop.wait(delay):
            delay = self.interval
            try:
                self.run_once()
            except SQLAlchemyError as exc:
                logger.warning("drift evaluation did not run: %s", db_error_reason(exc))
            except Exception:  # the thread must outlive one bad evaluation; the next tick tries again
                logger.exception("drift evaluation failed")

    def run_once(self, *, now: datetime | None = None) -> list[str] | None:
        """One tick: None when another process holds the lock (or the database is not ready); else the
        segmentations evaluated (those with a fresh stored evaluation are only published)."""
        if self._database is not None and not self._database.ensure():
            return None
        with try_singleton_lock(self.engine, name=LOCK_NAME, key=LOCK_KEY) as held:
            if not held:
                return None
            return self._evaluate_due(now or datetime.now(UTC))

    def _evaluate_due(self, now: datetime) -> list[str]:
        evaluated = []
        fresh = timedelta(seconds=self.interval * FRESH_SHARE)
        for name, model in self.models().items():
            with self._sessions() as session:
                latest = history.latest_check(session, segmentation=name)
                if latest is not None and latest.model_version == model.version and now - latest.evaluated_at < fresh:
                    record_drift_status(segmentation=name, checks=history.gauge_values(latest.checks))
                    continue
                window = time_window(
                    session, model_version=model.version, segmentation=name, since=now - DEFAULT_SPAN, until=now
                )
                report = drift_report(model, window)
                row = history.store_check(
                    session, segmentation=name, model=model, report=report, evaluated_at=now, commit=False
                )
                proposal = self._consequences(session, latest=latest, row=row, now=now)
                session.commit()
            record_drift_status(segmentation=name, checks=history.gauge_values(row.checks))
            if proposal is not None and self.proposals is not None:
                announce(proposal)
                self.proposals.start(proposal)
            evaluated.append(name)
        if evaluated:
            logger.info("drift evaluated for %s", ", ".join(evaluated))
            with self._sessions() as session:
                history.purge_checks(session, before=now - timedelta(days=self.retention_days))
        return evaluated

    def _consequences(
        self, session: Session, *, latest: DriftCheck | None, row: DriftCheck, now: datetime
    ) -> RetrainProposal | None:
        """In the evaluation's transaction: drift.changed when the status changed (once per stored evaluation), and
        a proposal when it turned to drift outside the cooldown."""
        if latest is not None and latest.status != row.status:
            payload = {
                "segmentation": row.segmentation,
                "model_version": row.model_version,
                "previous_status": latest.status,
                "status": row.status,
                "evaluated_at": row.evaluated_at.isoformat(),
                "checks": row.checks,
            }
            emit_on(session.connection(), event=DRIFT_CHANGED, payload=payload, key=f"drift:{row.id}")
        turned = row.status == "drift" and (latest is None or latest.status != "drift")
        if not turned or self.proposals is None:
            return None
        return propose_on_drift(session, check=row, cooldown=self.proposals.cooldown, now=now)


def start_drift_evaluator(
    *,
    engine: Engine,
    segmentations: Segmentations,
    interval: float,
    database: DatabasePreparation,
    retention_days: int = 30,
    proposals: DriftProposals | None = None,
) -> DriftEvaluator | None:
    """Start the evaluator thread; None when `interval` is 0 (turned off). Evaluations older than `retention_days`
    are deleted, as the prediction log's rows are. With `proposals`, drift turning proposes retraining."""
    if interval <= 0:
        return None
    evaluator = DriftEvaluator(
        engine,
        lambda: served_models(segmentations),
        interval=interval,
        database=database,
        retention_days=retention_days,
        proposals=proposals,
    )
    evaluator.start()
    return evaluator
