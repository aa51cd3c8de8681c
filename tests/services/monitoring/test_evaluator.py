"""The drift evaluator: it stores evaluations, evaluates each segmentation once per interval, and only while it holds
the lock, which another process can hold."""

import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.core.config import PROJECT_ROOT
from app.db.locks import try_singleton_lock
from app.db.session import create_db_engine, session_factory
from app.db.tables import DriftCheck
from app.services.monitoring import history
from app.services.monitoring.evaluator import LOCK_KEY, LOCK_NAME, DriftEvaluator
from tests.api.test_monitoring import customers
from tests.services.monitoring.test_reads import database, log  # noqa: F401 - the migrated SQLite log fixture


def evaluator(url: str, model, **models) -> DriftEvaluator:
    return DriftEvaluator(create_db_engine(url), lambda: models or {"default": model}, interval=300)


def stored(url: str) -> list[DriftCheck]:
    engine = create_db_engine(url)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(select(DriftCheck).order_by(DriftCheck.id)))
    finally:
        engine.dispose()


def test_an_evaluation_is_stored_with_each_check(database, model):  # noqa: F811
    std = model.info["data_stats"]["annual_income"]["std"]
    log(database, model, customers(600, seed=31, income_shift=std), segmentation=None)
    now = datetime.now(UTC)
    assert evaluator(database, model, default=model, rfm=model).run_once(now=now) == ["default", "rfm"]

    default, rfm = stored(database)
    assert (default.segmentation, default.model_version, default.status, default.window_size) == (
        "default",
        model.version,
        "drift",
        600,
    )
    assert default.window_until - default.window_since == timedelta(hours=24)
    checks = {check["check"]: check for check in default.checks}
    assert set(checks) == {"overall", "feature:annual_income", "feature:spending_score", "segment_mix", "atypical",
                           "out_of_range"}  # fmt: skip
    assert checks["feature:annual_income"]["status"] == "drift" and checks["feature:annual_income"]["value"] > 0.25
    # The other segmentation logged nothing: every check is insufficient data, -1 on the gauge.
    assert rfm.status == "insufficient data"
    assert set(history.gauge_values(rfm.checks).values()) == {-1.0}


def test_each_segmentation_is_evaluated_once_per_interval(database, model):  # noqa: F811
    log(database, model, customers(200, seed=32), segmentation=None)
    first, second = evaluator(database, model), evaluator(database, model)
    now = datetime.now(UTC)
    assert first.run_once(now=now) == ["default"]
    # Another worker's tick a minute later finds a fresh evaluation: it only publishes it.
    assert second.run_once(now=now + timedelta(minutes=1)) == []
    assert second.run_once(now=now + timedelta(minutes=5)) == ["default"]
    assert len(stored(database)) == 2


def test_a_new_model_version_is_evaluated_at_once(database, model):  # noqa: F811
    from dataclasses import replace

    log(database, model, customers(200, seed=33), segmentation=None)
    now = datetime.now(UTC)
    assert evaluator(database, model).run_once(now=now) == ["default"]
    newer = replace(model, info={**model.info, "version": "20991231.000000-newer"})
    assert evaluator(database, newer).run_once(now=now + timedelta(seconds=10)) == ["default"]
    assert [row.model_version for row in stored(database)] == [model.version, newer.version]


def test_while_another_holder_has_the_lock_nothing_is_evaluated(database, model):  # noqa: F811
    engine = create_db_engine(database)
    with try_singleton_lock(engine, name=LOCK_NAME, key=LOCK_KEY) as held:
        assert held
        assert evaluator(database, model).run_once() is None
    assert stored(database) == []
    assert evaluator(database, model).run_once() == ["default"]
    engine.dispose()


HOLDER = textwrap.dedent(
    """
    import sys
    from app.db.locks import try_singleton_lock
    from app.db.session import create_db_engine
    from app.services.monitoring.evaluator import LOCK_KEY, LOCK_NAME

    with try_singleton_lock(create_db_engine(sys.argv[1]), name=LOCK_NAME, key=LOCK_KEY) as held:
        print("held" if held else "refused", flush=True)
        sys.stdin.read()
    """
)


def test_the_lock_holds_across_processes(database, model):  # noqa: F811
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, database],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert evaluator(database, model).run_once() is None
    finally:
        holder.stdin.close()
        assert holder.wait(timeout=60) == 0
    assert evaluator(database, model).run_once() == ["default"]


def test_the_history_reads_the_stored_evaluations_oldest_first(database, model):  # noqa: F811
    log(database, model, customers(150, seed=34), segmentation=None)
    now = datetime.now(UTC)
    runner = evaluator(database, model)
    for minutes in (20, 10, 0):
        runner.run_once(now=now - timedelta(minutes=minutes))
    engine = create_db_engine(database)
    with session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(DriftCheck)) == 3
        answer = history.drift_history(session, since=now - timedelta(minutes=15), now=now)
        assert [item["evaluated_at"] for item in answer["evaluations"]] == [
            (now - timedelta(minutes=10)).isoformat(),
            now.isoformat(),
        ]
        assert history.drift_history(session, segmentation="rfm", now=now)["evaluations"] == []
    engine.dispose()


def test_evaluations_older_than_the_retention_are_deleted(database, model):  # noqa: F811
    log(database, model, customers(150, seed=35), segmentation=None)
    now = datetime.now(UTC)
    runner = evaluator(database, model)
    runner.retention_days = 30
    runner.run_once(now=now - timedelta(days=40))
    runner.run_once(now=now - timedelta(days=10))
    assert len(stored(database)) == 2
    runner.run_once(now=now)
    assert [row.evaluated_at for row in stored(database)] == [now - timedelta(days=10), now]


def test_a_change_of_status_queues_one_drift_changed_event(database, model):  # noqa: F811
    from app.db.tables import NotificationEvent

    def events() -> list[NotificationEvent]:
        engine = create_db_engine(database)
        try:
            with session_factory(engine)() as session:
                return list(session.scalars(select(NotificationEvent).where(NotificationEvent.type == "drift.changed")))
        finally:
            engine.dispose()

    drifting = evaluator(database, model)
    now = datetime.now(UTC)
    assert drifting.run_once(now=now) == ["default"]  # nothing logged yet: insufficient data, the first verdict
    assert events() == []  # a first evaluation changes nothing
    std = model.info["data_stats"]["annual_income"]["std"]
    log(database, model, customers(600, seed=33, income_shift=std), segmentation=None)
    assert drifting.run_once(now=datetime.now(UTC) + timedelta(minutes=10)) == ["default"]
    (event,) = events()
    assert (event.payload["previous_status"], event.payload["status"]) == ("insufficient data", "drift")
    assert event.payload["segmentation"] == "default" and event.payload["model_version"] == model.version
    assert {check["check"] for check in event.payload["checks"]} >= {"overall", "feature:annual_income"}
    assert drifting.run_once(now=datetime.now(UTC) + timedelta(minutes=20)) == ["default"]
    assert len(events()) == 1  # the same verdict again is no change
