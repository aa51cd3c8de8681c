"""The /models page's retraining proposals: each with its reason, state and comparison summary."""

from collections.abc import Callable
from typing import Any

from app.core.errors import SegmentationError

# How many proposals the page lists (the API lists more).
SHOWN = 10


def proposals_section(*, segmentation: str, db_sessions: Callable[[], Any] | None) -> dict[str, Any]:
    """The segmentation's newest proposals, or why they cannot be read (the page still renders)."""
    from sqlalchemy.exc import SQLAlchemyError

    from app.services.proposals import control

    if db_sessions is None:
        return {"proposals": [], "error": None}
    try:
        with db_sessions() as session:
            listed = control.listing(settings=None, session=session, segmentation=segmentation, limit=SHOWN)
    except (SQLAlchemyError, SegmentationError):
        return {"proposals": [], "error": "the proposals cannot be read: the database is unavailable"}
    return {"proposals": listed["proposals"], "error": None}
