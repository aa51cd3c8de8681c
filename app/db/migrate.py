"""Run Alembic migrations to head, once, even when several workers start at the same time."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from app.db.session import create_db_engine
from app.utils.locking import exclusive_lock

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Key of the PostgreSQL advisory lock that serialises migrations across workers and hosts.
MIGRATION_LOCK_KEY = 0x5E6_14DB


def alembic_config(url: str) -> Config:
    """An Alembic configuration for `url`, with no alembic.ini: the URL travels in attributes, never in a file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = url
    return config


@contextmanager
def _advisory_lock(connection: Connection) -> Iterator[None]:
    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    connection.commit()
    try:
        yield
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
        connection.commit()


def _sqlite_lock(url: str):
    database = make_url(url).database
    if not database or database == ":memory:":
        return nullcontext()
    return exclusive_lock(Path(f"{database}.migrate.lock"))


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None before the first migration."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_database(url: str, revision: str = "head") -> str | None:
    """Migrate the database at `url` to `revision` under a lock, and return the revision it is then at."""
    engine = create_db_engine(url)
    try:
        postgres = engine.dialect.name == "postgresql"
        # SQLite: a file lock beside the database. PostgreSQL: an advisory lock held by the migrating connection.
        with (
            nullcontext() if postgres else _sqlite_lock(url),
            engine.connect() as connection,
            _advisory_lock(connection) if postgres else nullcontext(),
        ):
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.commit()
            return current_revision(connection)
    finally:
        engine.dispose()
