"""The logged customers a retraining candidate learns from: the window, the least it needs, and the cheap check a
proposal makes before anything is stored.

Apart from the candidate's training (app/services/proposals/candidate.py) so that the API, which makes the check,
never imports the training libraries at start-up.
"""

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.core.errors import InvalidDataset
from app.services.monitoring.log_reader import LogFilter, customers_below

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
    """InvalidDataset (422) when the segmentation's recent log holds fewer than MIN_CUSTOMERS customers.

    The count is an upper bound of what the job reads (each customer id once, each row without one; the job also
    leaves out rows missing a feature, and its window starts later), so only a proposal sure to fail is refused here:
    the job's own check stays the authority.
    """
    since = now - WINDOW
    at_most = customers_below(session, where=LogFilter(segmentation=segmentation, since=since), enough=MIN_CUSTOMERS)
    if at_most is not None:
        raise too_few_customers(at_most, segmentation=segmentation, since=since)
