"""The activation history mirrored into the database: history.jsonl stays the source of truth, the table follows it.

The versions folder (shared by every worker and host) keeps one history file per segmentation: `default`'s at its
top, each other's in its own folder (app/models/segmentations/catalog.py). Each server process mirrors them into
`model_activations` from one background thread: at start-up (the backfill) and within a poll of any change to a
file, whoever made it (this worker, another worker or host, the CLI, a training job), or of a new segmentation. A
row is keyed by a hash of its entry and segmentation, so mirroring again, from any number of processes, never
inserts an activation twice. An activation never waits for the database or fails on it: when the database is down
the mirror counts the failure, warns at most once a minute, and tries again until the table has caught up.
"""

import hashlib
import json
import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select

from app.db.statements import insert_skipping_duplicates
from app.db.tables import ModelActivation
from app.models.segmentations.catalog import SegmentationCatalog
from app.models.segmentations.spec import DEFAULT_NAME
from app.models.versions.store import HISTORY_FILE, VersionStore
from app.services.monitoring.retry import DatabaseNotReady, DatabasePreparation, Retry
from app.services.notifications.events import VERSION_ACTIVATED, emit_on
from app.services.shutdown import WorkerThread

logger = logging.getLogger(__name__)

# Seconds between looks at the history file's stat, and before retrying after a failure.
POLL_SECONDS = 1.0
RETRY_SECONDS = 5.0

_TABLE = ModelActivation.__table__
_ENTRY_FIELDS = ("at", "from", "to", "reason", "key_id")
# Activations older than this when first mirrored (a new database backfilled from a long history) raise no
# version.activated: subscribers hear about activations as they happen, not the whole past at once.
EVENT_MAX_AGE = timedelta(days=1)


def entry_key(entry: dict[str, Any], *, segmentation: str = DEFAULT_NAME) -> str:
    """The identity of one history entry: the sha256 of its fields, in a fixed order, and of its segmentation."""
    fields = [entry.get(name) for name in _ENTRY_FIELDS]
    # `default`'s keys stay those mirrored before segmentations existed, so upgrading inserts nothing twice.
    canonical = json.dumps(fields if segmentation == DEFAULT_NAME else [segmentation, *fields], ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _row(entry: dict[str, Any], segmentation: str) -> dict[str, Any]:
    at = datetime.fromisoformat(entry["at"])
    return {
        "entry_key": entry_key(entry, segmentation=segmentation),
        "segmentation": segmentation,
        "activated_at": at if at.tzinfo else at.replace(tzinfo=UTC),
        "from_version": entry["from"][:64] if entry.get("from") else None,
        "to_version": entry["to"][:64],
        "reason": (entry.get("reason") or "")[:500],
        "key_id": entry["key_id"][:32] if entry.get("key_id") else None,
    }


def mirror_history(engine: Engine, store: VersionStore, *, segmentation: str = DEFAULT_NAME) -> int:
    """Insert every entry of `segmentation`'s history (in `store`) that the table lacks; return how many were new."""
    entries = store.history()
    if not entries:
        return 0
    with engine.begin() as connection:
        known = set(connection.scalars(select(_TABLE.c.entry_key)))
        rows: dict[str, dict[str, Any]] = {}
        for entry in entries:
            try:
                row = _row(entry, segmentation)
            except ValueError:  # a time that is not ISO 8601: the file is the record, the mirror skips it
                logger.warning("activation history entry with an unreadable time was not mirrored")
                continue
            if row["entry_key"] not in known:
                rows.setdefault(row["entry_key"], row)
        if rows:
            # Another worker may mirror the same entry at the same time: rows already there are skipped.
            statement = insert_skipping_duplicates(engine.dialect, _TABLE, key="entry_key")
            connection.execute(statement, list(rows.values()))
            _notify(connection, rows.values())
    return len(rows)


def _notify(connection: Connection, rows: Iterable[dict[str, Any]]) -> None:
    """version.activated for each recent activation, in the mirror's transaction (keyed: written once anywhere)."""
    since = datetime.now(UTC) - EVENT_MAX_AGE
    for row in rows:
        if row["activated_at"] < since:
            continue
        payload = {
            "segmentation": row["segmentation"],
            "from_version": row["from_version"],
            "to_version": row["to_version"],
            "reason": row["reason"],
            "key_id": row["key_id"],
            "activated_at": row["activated_at"].isoformat(),
        }
        emit_on(connection, event=VERSION_ACTIVATED, payload=payload, key=f"{VERSION_ACTIVATED}:{row['entry_key']}")


Stamp = tuple[int, int, int] | None


def _stamp(store: VersionStore) -> Stamp:
    try:
        st = (store.root / HISTORY_FILE).stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class ActivationMirror(WorkerThread):
    """Keeps `model_activations` in step with every segmentation's history file, from one background thread (its
    first pass is the start-up backfill)."""

    name = "activation mirror"
    thread_name = "activation-mirror"
    stop_seconds = 5.0

    def __init__(
        self,
        engine: Engine,
        store: VersionStore,
        *,
        database: DatabasePreparation | None = None,
        poll_seconds: float = POLL_SECONDS,
        catalog: SegmentationCatalog | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        # `default`'s store is the top of the models folder, where the catalog keeps the other segmentations.
        self.catalog = catalog or SegmentationCatalog(store.root)
        self.poll_seconds = poll_seconds
        self._database = database
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._synced_stamps: dict[str, Stamp] = {}
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

    def stores(self) -> dict[str, VersionStore]:
        """Each segmentation's version store, by name (`default` first)."""
        return {
            name: self.store if name == DEFAULT_NAME else VersionStore(self.catalog.folder(name))
            for name in self.catalog.names()
        }

    def _stamps(self, stores: dict[str, VersionStore]) -> dict[str, Stamp]:
        return {name: _stamp(store) for name, store in stores.items()}

    def sync(self) -> bool:
        """Mirror the histories now; True when the table has every entry, False (counted, logged) when it failed."""
        with self._lock:
            stores = self.stores()
            stamps = self._stamps(stores)  # taken first: an entry appended while mirroring is seen at the next poll
            done, added = self._retry.attempt(lambda: self._mirror(stores))
            if not done:
                return False
            self._synced_stamps, self._synced_once = stamps, True
            self.mirrored += added
            if added:
                logger.info("mirrored %d model activation(s) into the database", added)
            return True

    def _mirror(self, stores: dict[str, VersionStore]) -> int:
        # The mirror keeps its own pace (RETRY_SECONDS), so it asks for the migration whenever it tries.
        if self._database is not None and not self._database.ensure(force=True):
            raise DatabaseNotReady("the database could not be migrated")
        return sum(mirror_history(self.engine, store, segmentation=name) for name, store in stores.items())

    def _due(self) -> bool:
        if not self._retry.due():
            return False
        return not self._synced_once or self._stamps(self.stores()) != self._synced_stamps

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._due():
                self.sync()
            self._stop.wait(self.poll_seconds)


def open_activation_mirror(*, engine: Engine, store: VersionStore, database: DatabasePreparation) -> ActivationMirror:
    """Start mirroring the activation history (its thread waits for the database's migration, off start-up)."""
    mirror = ActivationMirror(engine, store, database=database)
    mirror.start()
    return mirror
