"""A lock that one process at a time holds, across uvicorn workers and hosts, and that dies with its holder.

PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a connection held for the block; the server
releases it when the connection closes, so a killed worker never leaves it held. SQLite (one host by nature): an
flock on a file beside the database, which the kernel releases when the process exits. An in-memory SQLite
database lives in one process, where a process-wide lock is enough.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from app.utils.locking import try_exclusive_lock

_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()


@contextmanager
def try_singleton_lock(engine: Engine, *, name: str, key: int) -> Iterator[bool]:
    """Yield True while this process holds the lock `name` (`key` on PostgreSQL), False when another has it; never
    waits."""
    dialect = engine.dialect.name
    database = engine.url.database
    if dialect == "postgresql":
        with _advisory(engine, key) as held:
            yield held
    elif dialect == "sqlite" and database and database != ":memory:":
        with try_exclusive_lock(Path(f"{database}.{name}.lock")) as held:
            yield held
    else:
        with _process_lock(name) as held:
            yield held


@contextmanager
def _advisory(engine: Engine, key: int) -> Iterator[bool]:
    connection = engine.connect()
    held = False
    try:
        held = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
        connection.commit()
        yield held
    finally:
        if held:
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
            except Exception:
                # A connection that may still hold the lock must never go back to the pool: closing it releases it.
                connection.invalidate()
                raise
        connection.close()


@contextmanager
def _process_lock(name: str) -> Iterator[bool]:
    with _process_locks_guard:
        lock = _process_locks.setdefault(name, threading.Lock())
    held = lock.acquire(blocking=False)
    try:
        yield held
    finally:
        if held:
            lock.release()
