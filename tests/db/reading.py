"""Read rows back from a test database."""

from typing import Any

from sqlalchemy import Select

from app.db.session import create_db_engine, session_factory


def read_all(url: str, statement: Select) -> list[Any]:
    """Every ORM object a select returns, from a short-lived engine."""
    engine = create_db_engine(url)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(statement))
    finally:
        engine.dispose()
