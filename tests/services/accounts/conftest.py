"""A fresh, migrated SQLite database per test for the accounts services."""

import pytest

from app.db.migrate import upgrade_database
from app.db.session import create_db_engine, session_factory


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'accounts.sqlite3'}"
    upgrade_database(url)
    engine = create_db_engine(url)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()
