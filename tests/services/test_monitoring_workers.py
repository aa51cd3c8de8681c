"""The monitoring workers share one database preparation and one retry rule: migrate once, retry after a pause."""

import logging

import app.services.monitoring.workers as workers
from app.db.migrate import upgrade_database
from app.services.monitoring.retry import DatabasePreparation, Retry, ThrottledWarning

LOGGER = logging.getLogger("tests.monitoring")


def test_a_server_process_migrates_the_database_once(client_for, tmp_path, monkeypatch):
    calls: list[str] = []

    def counted(url: str, revision: str = "head"):
        calls.append(url)
        return upgrade_database(url, revision)

    monkeypatch.setattr(workers, "upgrade_database", counted)
    client = client_for(database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}")
    assert client.post("/api/v1/predict", json={"annual_income": 50, "spending_score": 50}).status_code == 200
    assert client.app.state.prediction_log.flush()
    assert client.app.state.activation_mirror.sync()  # the mirror needs the database too
    assert len(calls) == 1


def test_preparation_runs_once_and_retries_only_after_the_pause(monkeypatch):
    attempts: list[int] = []
    clock = [100.0]
    monkeypatch.setattr("app.services.monitoring.retry.time.monotonic", lambda: clock[0])

    def prepare() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionRefusedError("down")

    database = DatabasePreparation(prepare, retry_seconds=60.0, logger=LOGGER)
    assert database.ensure() is False
    assert database.ensure() is False  # within the pause: not tried again
    assert len(attempts) == 1
    assert database.ensure(force=True) is True  # a caller with its own pace may try at once
    assert database.ready
    assert database.ensure() is True
    assert len(attempts) == 2

    clock[0] += 61
    assert database.ensure() is True
    assert len(attempts) == 2  # done once: never run again


def test_retry_counts_failures_and_waits_before_the_next_attempt(monkeypatch, caplog):
    clock = [0.0]
    monkeypatch.setattr("app.services.monitoring.retry.time.monotonic", lambda: clock[0])
    retry = Retry(LOGGER, what="mirroring failed", retry_seconds=5.0)

    def fail() -> None:
        raise TimeoutError("postgresql://user:secret@db/log timed out")

    with caplog.at_level(logging.WARNING, logger=LOGGER.name):
        assert retry.attempt(fail) == (False, None)
        assert not retry.due()
        clock[0] = 5.0
        assert retry.due()
        assert retry.attempt(fail) == (False, None)
        assert retry.attempt(lambda: 7) == (True, 7)
    assert retry.failures == 2
    # One warning a minute, naming the error's type and its message, with the database URL's password hidden.
    assert [record.getMessage() for record in caplog.records] == [
        "mirroring failed (TimeoutError: postgresql://user:***@db/log timed out); will retry"
    ]


def test_throttled_warning_sums_what_happened_between_warnings(monkeypatch, caplog):
    clock = [0.0]
    monkeypatch.setattr("app.services.monitoring.retry.time.monotonic", lambda: clock[0])
    warning = ThrottledWarning(LOGGER, interval=60.0)
    with caplog.at_level(logging.WARNING, logger=LOGGER.name):
        warning.add(5, lambda n: f"dropped {n}")
        warning.add(7, lambda n: f"dropped {n}")
        clock[0] = 30.0
        warning.add(1, lambda n: f"dropped {n}")
        clock[0] = 61.0
        warning.add(2, lambda n: f"dropped {n}")
    assert [record.getMessage() for record in caplog.records] == ["dropped 5", "dropped 10"]
