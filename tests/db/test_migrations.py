"""Migrations: idempotent, and safe when several workers run them at once, on SQLite and PostgreSQL."""

import os
import subprocess
import sys

import pytest
from sqlalchemy import inspect

from app.core.config import PROJECT_ROOT
from app.db.migrate import upgrade_database
from app.db.session import create_db_engine


def _tables(url: str) -> set[str]:
    engine = create_db_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_twice_gives_the_same_schema_without_error(database_url):
    assert upgrade_database(database_url) == "0003"
    assert upgrade_database(database_url) == "0003"
    assert {"prediction_log", "model_activations", "alembic_version"} <= _tables(database_url)


@pytest.mark.slow
def test_cli_upgrade_from_several_processes_at_once_all_succeed(database_url):
    env = {**os.environ, "DATABASE_URL": database_url}
    command = [sys.executable, "-m", "app.cli", "db", "upgrade"]
    workers = [
        subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    results = [(worker.wait(timeout=120), *worker.communicate()) for worker in workers]
    assert [code for code, _, _ in results] == [0, 0, 0], results
    assert all(out.strip() == "database at revision 0003" for _, out, _ in results)
    assert "prediction_log" in _tables(database_url)


def test_migrations_build_exactly_the_orm_tables(database_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from app.db.tables import Base

    upgrade_database(database_url)
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        engine.dispose()
