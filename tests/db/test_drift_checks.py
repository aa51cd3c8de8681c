"""The drift evaluator's table and lock on SQLite and PostgreSQL: one holder at a time, one evaluation per interval
however many evaluators tick at once, and a migration that goes up and down."""

import threading
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, select

from app.db.locks import try_singleton_lock
from app.db.migrate import alembic_config, upgrade_database
from app.db.session import create_db_engine
from app.db.tables import DriftCheck
from app.services.monitoring.evaluator import LOCK_KEY, LOCK_NAME, DriftEvaluator
from tests.api.test_monitoring import customers
from tests.db.reading import read_all
from tests.services.monitoring.test_reads import log


def test_one_holder_at_a_time(database_url):
    first, second = create_db_engine(database_url), create_db_engine(database_url)
    try:
        with try_singleton_lock(first, name=LOCK_NAME, key=LOCK_KEY) as held:
            assert held
            with try_singleton_lock(second, name=LOCK_NAME, key=LOCK_KEY) as also:
                assert not also
        with try_singleton_lock(second, name=LOCK_NAME, key=LOCK_KEY) as held_after:
            assert held_after
    finally:
        first.dispose()
        second.dispose()


def test_evaluators_ticking_at_once_store_one_evaluation(database_url, model):
    upgrade_database(database_url)
    log(database_url, model, customers(300, seed=41), segmentation=None)
    now = datetime.now(UTC)
    engines = [create_db_engine(database_url) for _ in range(2)]
    evaluators = [DriftEvaluator(engine, lambda: {"default": model}, interval=300) for engine in engines]
    start = threading.Barrier(2)
    results: list = []

    def tick(evaluator: DriftEvaluator) -> None:
        start.wait()
        results.append(evaluator.run_once(now=now))

    threads = [threading.Thread(target=tick, args=(evaluator,)) for evaluator in evaluators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for engine in engines:
        engine.dispose()
    # One evaluated; the other found the lock held (None) or, after it, a fresh evaluation ([]).
    assert results.count(["default"]) == 1
    assert [result for result in results if result != ["default"]] in ([None], [[]])
    (row,) = read_all(database_url, select(DriftCheck))
    assert (row.segmentation, row.window_size, row.status) == ("default", 300, "stable")


def test_the_migration_goes_up_and_down(database_url):
    head = upgrade_database(database_url)
    assert head >= "0005"
    engine = create_db_engine(database_url)
    try:
        assert "drift_checks" in inspect(engine).get_table_names()
        command.downgrade(alembic_config(database_url), "0004")  # the revision before drift_checks
        assert "drift_checks" not in inspect(engine).get_table_names()
        assert {"prediction_log", "model_activations"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert upgrade_database(database_url) == head
