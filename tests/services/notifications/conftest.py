"""Fixtures of the notification tests: a migrated SQLite outbox and a local webhook receiver."""

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.db.migrate import upgrade_database
from app.db.session import create_db_engine, session_factory
from app.services.notifications.drainer import SendOptions
from tests.services.notifications.receiver import Receiver, running_receiver


@pytest.fixture
def database_url(tmp_path) -> str:
    """A SQLite database migrated to head."""
    url = f"sqlite:///{tmp_path / 'notify.sqlite3'}"
    upgrade_database(url)
    return url


@pytest.fixture
def sessions(database_url) -> Iterator[sessionmaker[Session]]:
    """Sessions of the migrated database."""
    engine = create_db_engine(database_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on a local port."""
    with running_receiver() as running:
        yield running


@pytest.fixture
def options() -> SendOptions:
    """Send options for local receivers: private addresses allowed, no wait between attempts."""
    return SendOptions(allow_private=True, max_attempts=5, backoff_seconds=0.0)
