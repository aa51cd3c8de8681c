"""The activation history mirrored into the database: history.jsonl stays the source of truth, the table follows it.

The versions folder (shared by every worker and host) keeps the history file. Each server process mirrors it into
`model_activations` from one background thread: at start-up (the backfill) and within a poll of any change to the
file, whoever made it (this worker, another worker or host, the CLI, a training job). A row is keyed by a hash of
its entry, so mirroring again, from any number of processes, never inserts an activation twice. An activation
never waits for the database or fails on it: when the database is down the mirror counts the failure, warns at
most once a minute, and tries again until the table has caught up.
"""

import hashlib
import json
import logging
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from app.db.statements import insert_skipping_duplicates
from app.db.tables import ModelActivation
from app.models.versions.store import HISTORY_FILE, VersionStore
from app.services.monitoring.retry import DatabaseNotReady, DatabasePreparation, Retry

logger = logging.getLogger(__name__)

# Seconds between looks at the history file's stat, and before retrying after a failure.
POLL_SECONDS = 1.0
RETRY_SECONDS = 5.0

_TABLE = ModelActivation.__table__
_ENTRY_FIELDS = ("at", "from", "to", "reason", "key_id")


def entry_key(entry: dict[str, Any]) -> str:
    """The identity of one history entry: the sha256 of its fields, in a fixed order."""
    canonical = json.dumps([entry.get(name) for name in _ENTRY_FIELDS], ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _row(entry: dict[str, Any]) -> dict[str, Any]:
    at = datetime.fromisoformat(entry["at"])
    return {
        "entry_key": entry_key(entry),
        "activated_at": at if at.tzinfo else at.replace(tzinfo=UTC),
        "from_version": entry["from"][:64] if entry.get("from") else None,
        "to_version": entry["to"][:64],
        "reason": (entry.get("reason") or "")[:500],
        "key_id": entry["key_id"][:32] if entry.get("key_id") else None,
    }


def mirror_history(engine: Engine, store: VersionStore) -> int:
    """Insert every history entry the table lacks; return how many were new."""
    entries = store.history()
    if not entries:
        return 0
    with engine.begin() as connection:
        known = set(connection.scalars(select(_TABLE.c.entry_key)))
        rows: dict[str, dict[str, Any]] = {}
        for entry in entries:
            try:
                row = _row(entry)
            except ValueError:  # a time that is not ISO 8601: the file is the record, the mirror skips it
                logger.warning("activation history entry with an unreadable time was not mirrored")
                continue
            if row["entry_key"] not in known:
                rows.setdefault(row["entry_key"], row)
        if rows:
            # Another worker may mirror the same entry at the same time: rows already there are skipped.
            statement = insert_skipping_duplicates(engine.dialect, _TABLE, key="entry_key")
            connection.execute(statement, list(rows.values()))
    return len(rows)


def _stamp(store: VersionStore) -> tuple[int, int, int] | None:
    try:
        st = (store.root / HISTORY_FILE).stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class ActivationMirror:
    """Keeps `model_activations` in step with the history file, from one background thread."""

    def __init__(
        self,
        engine: Engine,
        store: VersionStore,
        *,
        database: DatabasePreparation | None = None,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.engine = engine
        self.store = store
        self.poll_seconds = poll_seconds
        self._database = database
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._synced_stamp: tuple[int, int, int] | None = None
        self._synced_once = False
        self._retry = Retry(
            logger,
            what="model activations not mirrored into the database; activations still work",
            retry_seconds=RETRY_SECONDS,
        )
        self.mirrored = 0

    @property
    def failed(self) -> int:
        """Attempts that failed since start."""
        return self._retry.failures

    def sync(self) -> bool:
        """Mirror the history now; True when the table has every entry, False (counted, logged) when it failed."""
        with self._lock:
            stamp = _stamp(self.store)  # taken first: an entry appended while mirroring is seen at the next poll
            done, added = self._retry.attempt(self._mirror)
            if not done:
                return False
            self._synced_stamp, self._synced_once = stamp, True
            self.mirrored += added
            if added:
                logger.info("mirrored %d model activation(s) into the database", added)
            return True

    def _mirror(self) -> int:
        # The mirror keeps its own pace (RETRY_SECONDS), so it asks for the migration whenever it tries.
        if self._database is not None and not self._database.ensure(force=True):
            raise DatabaseNotReady("the database could not be migrated")
        return mirror_history(self.engine, self.store)

    def _due(self) -> bool:
        if not self._retry.due():
            return False
        return not self._synced_once or _stamp(self.store) != self._synced_stamp

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._due():
                self.sync()
            self._stop.wait(self.poll_seconds)

    def start(self) -> None:
        """Start the mirroring thread (its first pass is the start-up backfill)."""
        self._thread = threading.Thread(target=self._run, name="activation-mirror", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def open_activation_mirror(*, engine: Engine, store: VersionStore, database: DatabasePreparation) -> ActivationMirror:
    """Start mirroring the activation history (its thread waits for the database's migration, off start-up)."""
    mirror = ActivationMirror(engine, store, database=database)
    mirror.start()
    return mirror
