"""Read rows back from a test database."""

from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine, Select

from app.db.session import create_db_engine, session_factory


def read_all(url: str, statement: Select) -> list[Any]:
    """Every ORM object a select returns, from a short-lived engine."""
    engine = create_db_engine(url)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(statement))
    finally:
        engine.dispose()


def logged_rows(url: str, where: Any = None) -> list[SimpleNamespace]:
    """Every logged prediction (per row or in a chunk) as an object of the log's columns, oldest first."""
    engine = create_db_engine(url)
    try:
        return logged_rows_of(engine, where)
    finally:
        engine.dispose()


def logged_rows_of(engine: Engine, where: Any = None) -> list[SimpleNamespace]:
    """`logged_rows` from an engine the caller holds."""
    from app.services.monitoring.log_reader import LogFilter, read_all
    from app.services.monitoring.log_rows import COLUMNS

    with session_factory(engine)() as session:
        rows = read_all(session, columns=("ref", *COLUMNS), where=where or LogFilter(), limit=10**9)
    return [SimpleNamespace(**dict(zip(("ref", *COLUMNS), row, strict=True))) for row in reversed(rows)]
