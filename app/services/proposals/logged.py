"""The logged customers a retraining candidate learns from: the window, the least it needs, and the cheap check a
proposal makes before anything is stored.

Apart from the candidate's training (app/services/proposals/candidate.py) so that the API, which makes the check,
never imports the training libraries at start-up.
"""

from datetime import datetime, timedelta

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from app.core.errors import InvalidDataset
from app.db.tables import PredictionLog

# The recent window of logged inputs a candidate learns from.
WINDOW = timedelta(hours=24)
# Fewer logged customers than this say too little to retrain on.
MIN_CUSTOMERS = 50


def too_few_customers(logged: int, *, segmentation: str, since: datetime) -> InvalidDataset:
    """The 422 of a candidate with fewer than MIN_CUSTOMERS logged customers to learn from."""
    return InvalidDataset(
        f"only {logged} logged customer(s) of {segmentation!r} since {since:%Y-%m-%d %H:%M} UTC; "
        f"a candidate needs at least {MIN_CUSTOMERS}"
    )


def refuse_too_few_logged(session: Session, *, segmentation: str, now: datetime) -> None:
    """InvalidDataset (422) when the segmentation's recent log cannot hold MIN_CUSTOMERS customers, from one count.

    The count is an upper bound of what the job reads (each customer id once, each row without one; the job also
    leaves out rows missing a feature, and its window starts later), so only a proposal sure to fail is refused here:
    the job's own check stays the authority.
    """
    since = now - WINDOW
    log = PredictionLog
    at_most = session.scalar(
        select(func.count(distinct(log.customer_id)) + func.count() - func.count(log.customer_id)).where(
            log.segmentation == segmentation, log.created_at >= since
        )
    )
    if at_most < MIN_CUSTOMERS:
        raise too_few_customers(at_most, segmentation=segmentation, since=since)
