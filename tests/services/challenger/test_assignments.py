"""The assignment writer: one row per customer and run, and losses counted by reason (as the prediction log's are),
never raised on the request path."""

from app.services.challenger.assignments import AssignmentWriter
from tests.services.monitoring.test_reads import database  # noqa: F401 - the migrated SQLite log fixture

# Two runs of the same challenger: their `set_at`.
RUN, NEXT_RUN = "2026-12-01T10:00:00.000+00:00", "2026-12-02T10:00:00.000+00:00"


def _rows(first: int, count: int) -> list[tuple[object, str, str]]:
    return [(f"C-{i}", "champion", "v1") for i in range(first, first + count)]


def test_a_full_queue_drops_new_customers_and_counts_them(database):  # noqa: F811
    from app.db.session import create_db_engine

    writer = AssignmentWriter(create_db_engine(database), max_rows=3)
    writer.submit(segmentation="default", challenger_version="v2", set_at=RUN, mode="split", rows=_rows(0, 5))
    assert (writer.dropped, writer.drops) == (2, {"queue_full": 2})
    # A customer already queued costs nothing, not even a drop.
    writer.submit(segmentation="default", challenger_version="v2", set_at=RUN, mode="split", rows=_rows(0, 1))
    assert writer.dropped == 2


def test_rows_after_stop_are_counted_as_stopped(database):  # noqa: F811
    from app.db.session import create_db_engine

    writer = AssignmentWriter(create_db_engine(database))
    writer.start()
    writer.submit(segmentation="default", challenger_version="v2", set_at=RUN, mode="split", rows=_rows(0, 2))
    writer.stop()
    assert writer.written == 2 and writer.dropped == 0
    writer.submit(segmentation="default", challenger_version="v2", set_at=RUN, mode="split", rows=_rows(10, 4))
    assert writer.drops == {"stopped": 4}


def test_a_customer_is_recorded_once_a_run_of_the_challenger(database):  # noqa: F811
    from sqlalchemy import select

    from app.db.session import create_db_engine
    from app.db.tables import ChallengerAssignment

    engine = create_db_engine(database)
    for set_at, arm in [(RUN, "champion"), (RUN, "champion"), (NEXT_RUN, "challenger")]:
        # A writer each: another worker, which has not seen the customer, leaves the duplicate to the database.
        writer = AssignmentWriter(engine)
        writer.start()
        writer.submit(
            segmentation="default", challenger_version="v2", set_at=set_at, mode="split", rows=[("C-1", arm, "v")]
        )
        writer.stop()
    with engine.connect() as connection:
        rows = connection.execute(select(ChallengerAssignment.arm).order_by(ChallengerAssignment.id)).all()
    # The version set again gave the customer another arm: that run's row says so.
    assert [row.arm for row in rows] == ["champion", "challenger"]
    engine.dispose()
