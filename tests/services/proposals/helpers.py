"""What the proposal tests share: a stored proposal, its row read back, and traffic with one segment moved."""

import numpy as np
from sqlalchemy import select

from app.db.session import create_db_engine, session_factory
from app.db.tables import NotificationEvent, RetrainProposal
from app.models.model import SegmentationModel
from app.services.proposals import records
from tests.api.test_monitoring import customers


def stored_proposal(url: str, model: SegmentationModel, *, mix_training: bool = False) -> str:
    """A manual proposal against `model`, committed; its id."""
    engine = create_db_engine(url)
    try:
        with session_factory(engine)() as session:
            row = records.create(
                session,
                segmentation="default",
                trigger=records.MANUAL,
                reason="a test",
                base_version=model.version,
                mix_training=mix_training,
            )
            session.commit()
            return row.id
    finally:
        engine.dispose()


def proposals(url: str) -> list[RetrainProposal]:
    """Every stored proposal, oldest first."""
    engine = create_db_engine(url)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(select(RetrainProposal).order_by(RetrainProposal.created_at)))
    finally:
        engine.dispose()


def events(url: str, kind: str) -> list[NotificationEvent]:
    """The outbox's events of one type, oldest first."""
    engine = create_db_engine(url)
    try:
        with session_factory(engine)() as session:
            query = select(NotificationEvent).where(NotificationEvent.type == kind).order_by(NotificationEvent.id)
            return list(session.scalars(query))
    finally:
        engine.dispose()


def lowest_segment(model: SegmentationModel) -> int:
    """The position of the segment lowest on every feature together (in training standard deviations)."""
    stats = model.info["data_stats"]
    scores = [sum(s.centroid[f] / stats[f]["std"] for f in model.features) for s in model.segments]
    return int(np.argmin(scores))


def one_segment_moved(model: SegmentationModel, rows: int, seed: int) -> tuple[list[dict], int]:
    """Customers as the training data has them, except that the lowest segment's earn 1.5 standard deviations more
    on the first feature; and that segment's position."""
    target = lowest_segment(model)
    sample = customers(rows, seed=seed)
    X = np.array([[row[f] for f in model.features] for row in sample])
    moved = model.labels(X) == target
    first = model.features[0]
    shift = 1.5 * model.info["data_stats"][first]["std"]
    for row, move in zip(sample, moved, strict=True):
        if move:
            row[first] += shift
    return sample, target
