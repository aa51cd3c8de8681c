"""The monitoring work of one server process: the database migrated once, the prediction log writer, the mirror,
and the drift evaluator."""

import logging
from dataclasses import dataclass
from functools import partial

from sqlalchemy import Engine

from app.core.config import Settings
from app.db.migrate import upgrade_database
from app.db.session import session_factory
from app.models.segmentations.registries import Segmentations
from app.models.versions.store import VersionStore
from app.services.challenger.assignments import AssignmentWriter
from app.services.monitoring.activation_mirror import ActivationMirror, open_activation_mirror
from app.services.monitoring.evaluator import DriftEvaluator, DriftProposals, start_drift_evaluator
from app.services.monitoring.prediction_log import PredictionLogWriter, open_prediction_log
from app.services.monitoring.retry import DatabasePreparation
from app.services.proposals.jobs import starter
from app.services.shutdown import Stoppable, stop_all

logger = logging.getLogger(__name__)

# Seconds between attempts to migrate a database that was unreachable, when the log writer asks (the mirror asks
# at its own pace).
MIGRATION_RETRY_SECONDS = 60.0


@dataclass
class MonitoringWorkers:
    """The background writers a server process runs, and the one database preparation they share."""

    database: DatabasePreparation
    prediction_log: PredictionLogWriter | None
    activation_mirror: ActivationMirror
    drift_evaluator: DriftEvaluator | None = None
    challenger_assignments: AssignmentWriter | None = None

    def in_stopping_order(self) -> list[Stoppable]:
        """The workers, those holding customers' data first: the prediction log, then the challenger assignments."""
        workers = [self.prediction_log, self.challenger_assignments, self.drift_evaluator, self.activation_mirror]
        return [worker for worker in workers if worker is not None]

    def stop(self) -> None:
        """Stop them all against one deadline (app/services/shutdown.py), the prediction log first."""
        stop_all(self.in_stopping_order())


def start_monitoring(
    *, settings: Settings, engine: Engine, store: VersionStore, segmentations: Segmentations | None = None
) -> MonitoringWorkers:
    """Migrate the database (once for this process), then start the log writer, the mirror and (given the
    segmentations, with DRIFT_EVALUATION_SECONDS > 0) the drift evaluator, which proposes retraining on drift unless
    PROPOSALS_FROM_DRIFT is false.

    Never raises: a database that is down at start-up is migrated by whichever writer next needs it, and
    predictions are served meanwhile (their log rows held in the bounded queue until it is).
    """
    database = DatabasePreparation(
        partial(upgrade_database, settings.database_url.get_secret_value()),
        retry_seconds=MIGRATION_RETRY_SECONDS,
        logger=logger,
    )
    if not database.ensure():
        logger.error("the monitoring database was not migrated at start-up; will retry")
    writer = None
    if settings.prediction_log_enabled:
        writer = open_prediction_log(
            engine=engine,
            database=database,
            max_rows=settings.prediction_log_queue_rows,
            sample=settings.prediction_log_sample,
            retention_days=settings.prediction_log_retention_days,
        )
    mirror = open_activation_mirror(engine=engine, store=store, database=database)
    evaluator = None
    if segmentations is not None:
        proposals = None
        if settings.proposals_from_drift:
            proposals = DriftProposals(
                cooldown=settings.proposal_cooldown,
                start=starter(settings=settings, sessions=session_factory(engine)),
            )
        evaluator = start_drift_evaluator(
            engine=engine,
            segmentations=segmentations,
            interval=settings.drift_evaluation_seconds,
            database=database,
            retention_days=settings.prediction_log_retention_days,
            proposals=proposals,
        )
    assignments = AssignmentWriter(engine, database=database)
    assignments.start()
    return MonitoringWorkers(
        database=database,
        prediction_log=writer,
        activation_mirror=mirror,
        drift_evaluator=evaluator,
        challenger_assignments=assignments,
    )
