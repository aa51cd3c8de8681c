"""What a segmentation leaves in the database, forgotten when it is deleted: a new one of its name starts afresh."""

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.db.session import unavailable_as
from app.db.tables import (
    ChallengerAssignment,
    DriftCheck,
    ModelActivation,
    OutcomeEvent,
    PredictionChunk,
    PredictionLog,
    RetrainProposal,
    Run,
)
from app.services.runs.store import remove_run_files

# Every table keyed by the segmentation's name. Audit events stay: they are the record of the deletion itself.
HISTORY = (
    PredictionLog,
    PredictionChunk,
    ChallengerAssignment,
    ModelActivation,
    DriftCheck,
    Run,
    OutcomeEvent,
    RetrainProposal,
)


@unavailable_as("the segmentation's history cannot be removed from the database now ({error}); nothing was deleted")
def forget_history(
    *, session: Session, name: str, then: Callable[[], None] = lambda: None, results_dir: Path | None = None
) -> None:
    """Delete the segmentation's predictions, activations, drift checks, runs, outcomes and proposals, run `then`
    (removing its folder), and commit only once that succeeded: a folder that cannot be removed keeps the history.
    Then its runs' files in `results_dir`, as a run's own delete removes them (else the next sweep does)."""
    try:
        runs = session.scalars(select(Run.id).where(Run.segmentation == name)).all()
        for table in HISTORY:
            session.execute(delete(table).where(table.segmentation == name))
        then()
    except BaseException:
        session.rollback()
        raise
    session.commit()
    for run_id in runs if results_dir is not None else ():
        remove_run_files(results_dir, run_id)
