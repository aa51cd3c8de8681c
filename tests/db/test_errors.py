"""A database failure's reason, as the server's log gives it: the driver's first line, never a password."""

import logging
import socket
import sqlite3
from datetime import UTC, datetime

import numpy as np
import psycopg
import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from app.db.errors import MAX_REASON_CHARS, db_error_reason
from app.db.migrate import upgrade_database
from app.db.session import create_db_engine
from app.services.monitoring.log_rows import LogChunk
from app.services.monitoring.prediction_log import PredictionLogWriter

PASSWORD = "s3cret-Pw"


def _wrapped(orig: Exception, kind: type[SQLAlchemyError] = OperationalError) -> SQLAlchemyError:
    """The error SQLAlchemy raises for a driver's `orig`, with the statement and its parameters."""
    return kind("INSERT INTO prediction_log VALUES (?)", {"customer_id": "alice@example.com"}, orig)


def test_the_reason_is_the_drivers_first_line_without_the_statement_or_its_rows():
    orig = psycopg.errors.UniqueViolation(
        'duplicate key value violates unique constraint "pk"\nDETAIL:  Key (customer_id)=(alice@example.com) exists.'
    )
    reason = db_error_reason(_wrapped(orig, ProgrammingError))
    assert reason == 'ProgrammingError: duplicate key value violates unique constraint "pk"'
    assert "alice" not in db_error_reason(_wrapped(sqlite3.OperationalError("database is locked")))


def test_an_engines_errors_and_their_tracebacks_never_quote_the_statements_parameters(database_url, caplog):
    engine, customer = create_db_engine(database_url), "-".join(["alice", "example.com"])  # not in this source line
    try:
        with engine.connect() as connection, pytest.raises(SQLAlchemyError) as raised:
            connection.execute(text("SELECT * FROM no_such_table WHERE id = :id"), {"id": customer})
    finally:
        engine.dispose()
    logging.getLogger("test").error("a request failed", exc_info=raised.value)
    assert "no_such_table" in str(raised.value)  # the statement still says what was run
    assert customer not in str(raised.value) and customer not in caplog.text


def test_a_long_reason_is_cut_after_its_credentials_are_scrubbed():
    message = "x" * (MAX_REASON_CHARS - 30) + f" postgresql://app:{PASSWORD}@db/segments"
    reason = db_error_reason(_wrapped(sqlite3.OperationalError(message)))
    assert len(reason) <= len("OperationalError: ") + MAX_REASON_CHARS
    assert reason.endswith("…") and PASSWORD[:3] not in reason.split("x")[-1]


def test_an_error_without_a_message_is_named_by_its_class():
    assert db_error_reason(_wrapped(sqlite3.OperationalError())) == "OperationalError"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_refused_connection_says_so_and_never_the_password():
    engine = create_engine(f"postgresql+psycopg://app:{PASSWORD}@127.0.0.1:{_closed_port()}/segments")
    with pytest.raises(OperationalError) as refused:
        engine.connect().close()
    reason = db_error_reason(refused.value)
    assert reason.startswith("OperationalError: connection failed: connection to server at")
    assert "Connection refused" in reason and PASSWORD not in reason


def one_row() -> LogChunk:
    return LogChunk(
        created_at=datetime.now(UTC),
        model_version="v1",
        features=("annual_income", "spending_score"),
        inputs=np.full((1, 2), 50.0),
        segment_ids=np.zeros(1, dtype=int),
        distances=np.ones(1),
        confidences=np.full(1, 0.5),
        atypical=np.zeros(1, dtype=bool),
        out_of_range=np.zeros(1, dtype=bool),
        segment_names={0: "Average Customer"},
        request_id="r",
        source="single",
    )


def test_the_prediction_log_warning_names_the_reason_and_never_the_password(tmp_path, caplog):
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    upgrade_database(url)
    engine = create_db_engine(url)
    failed = []

    @event.listens_for(engine, "before_cursor_execute")
    def away(connection, cursor, statement, *args) -> None:
        # As a driver may say it: the address it could not reach, credentials and all.
        failed.append(statement)
        raise sqlite3.OperationalError(f"could not reach postgresql://app:{PASSWORD}@db:5432/segments: timeout")

    writer = PredictionLogWriter(engine, max_rows=100, flush_interval=0.01, retry_seconds=60)
    with caplog.at_level(logging.WARNING, logger="app.services.monitoring.prediction_log"):
        writer.start()
        writer.submit(one_row())
        writer.stop(timeout=10)
    assert failed
    lines = [record.getMessage() for record in caplog.records]
    held = [line for line in lines if "held for a retry" in line]
    assert held, lines
    assert "OperationalError: could not reach postgresql://app:***@db:5432/segments: timeout" in held[0]
    assert all(PASSWORD not in line for line in lines)
