"""Engines and sessions for the configured DATABASE_URL."""

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import ParamSpec, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.core.errors import DatabaseUnavailable
from app.db.errors import db_error_reason

# Seconds a SQLite connection waits for another writer before giving up.
SQLITE_BUSY_TIMEOUT = 5.0


P = ParamSpec("P")
R = TypeVar("R")


def create_db_engine(url: str, *, sqlite_timeout: float = SQLITE_BUSY_TIMEOUT) -> Engine:
    """An engine for `url`; a SQLite file gets its folder created and write-ahead logging."""
    # hide_parameters: its errors never quote a statement's parameters (customers' values and ids, emails, password
    # hashes), so a traceback in the server's log shows the statement alone.
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, hide_parameters=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        parsed, connect_args={"timeout": sqlite_timeout, "check_same_thread": False}, hide_parameters=True
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        # WAL lets the dashboard read while the log writer writes.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to `engine`; objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def unavailable_as(message: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A decorator turning a database failure into DatabaseUnavailable (a 503, never a 500) that says `message`:
    with the error's class to the client, and with the driver's reason too in the server's log."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return function(*args, **kwargs)
            except SQLAlchemyError as exc:
                raise DatabaseUnavailable(
                    message.format(error=type(exc).__name__), local_message=message.format(error=db_error_reason(exc))
                ) from None

        return wrapper

    return decorate
