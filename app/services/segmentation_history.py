"""What a segmentation leaves in the database, forgotten when it is deleted: a new one of its name starts afresh."""

from collections.abc import Callable

from sqlalchemy import delete
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

# Every table keyed by the segmentation's name. Audit events stay: they are the record of the deletion itself. A
# run's file goes with the sweep of files no row names, as when a run is deleted.
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
def forget_history(*, session: Session, name: str, then: Callable[[], None] = lambda: None) -> None:
    """Delete the segmentation's predictions, activations, drift checks, runs, outcomes and proposals, run `then`
    (removing its folder), and commit only once that succeeded: a folder that cannot be removed keeps the history."""
    try:
        for table in HISTORY:
            session.execute(delete(table).where(table.segmentation == name))
        then()
    except BaseException:
        session.rollback()
        raise
    session.commit()
