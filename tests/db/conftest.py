"""Database fixtures: a throwaway PostgreSQL 15 server for the session, and one fresh database per test on SQLite
and on PostgreSQL."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import PostgresServer, pg_tool
from tests.tools import unavailable


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session (skipped only outside CI when PostgreSQL is not installed)."""
    initdb, pg_ctl = pg_tool("initdb"), pg_tool("pg_ctl")
    if not (initdb and pg_ctl):
        unavailable("PostgreSQL (initdb, pg_ctl) is not installed; `bash setup.sh test` installs it")
    server = PostgresServer(initdb, pg_ctl)
    try:
        server.start()
        yield server
    finally:
        server.remove()


# PostgreSQL needs its server (seconds to start): those cases are slow, the SQLite ones stay in the fast loop.
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, or a new database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'log.sqlite3'}"
    return request.getfixturevalue("postgres").create_database()
