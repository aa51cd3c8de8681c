"""The versions folder: one folder per version, an atomic ACTIVE pointer and an append-only activation history.

    models_artifacts/
        ACTIVE                     the active version id (replaced atomically: temp file + os.replace)
        history.jsonl              one line per activation: when, from, to, reason, key id
        .activating                an activation in progress (its history entry, written ahead; see `_commit`)
        <version>/                 kmeans_model.pkl, scaler.pkl, model_info.json, manifest.json
        .staging-*/                a save in progress (removed at the next save or start when orphaned)
        .lock                      serialises activations, migrations and first-run training

Every process (and every host sharing the folder) reads the same pointer, so a change of the active
version reaches all of them by polling the pointer's stat; nothing relies on in-process signals.

An activation is written ahead: its history entry goes to `.activating`, then the pointer is replaced (the commit
point), then the entry is appended to the history and `.activating` removed. Whoever next takes the lock (a restart,
a replacement worker, the next activation) finishes an activation a crash interrupted after its commit point and
discards one interrupted before it, so the history never names a version that did not become active.
"""

import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.core.errors import ArtifactError, UnknownModelVersion, VersionConflict
from app.models.model import SegmentationModel
from app.models.versions.artifacts import (
    ARTIFACT_FILES,
    INFO_FILE,
    MANIFEST_FILE,
    PICKLES,
    clean_orphans,
    load_version,
    read_info,
    read_manifest,
    write_manifest,
)
from app.utils.files import atomic_replace
from app.utils.hashing import sha256_file
from app.utils.locking import exclusive_lock

logger = logging.getLogger(__name__)

ACTIVE_FILE = "ACTIVE"
HISTORY_FILE = "history.jsonl"
INTENT_FILE = ".activating"
_ENTRY_FIELDS = ("at", "from", "to", "reason", "key_id")
LOCK_FILE = ".lock"
# Version ids are file names: letters, digits, dots, dashes and underscores, starting with a digit or letter.
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def new_version_id(now: datetime, data_sha256: str) -> str:
    """A version id that sorts by creation time and is unique even within one second (microseconds + random)."""
    return f"{now:%Y%m%d.%H%M%S.%f}-{data_sha256[:6]}{os.urandom(2).hex()}"


class VersionStore:
    """The versions on disk under one folder, with the active pointer and the activation history."""

    def __init__(self, root: Path, *, signing_key: bytes | None = None) -> None:
        self.root = Path(root)
        self.signing_key = signing_key

    # -- reading -------------------------------------------------------------------------------------------

    def versions(self) -> list[str]:
        """Every version id on disk, oldest first."""
        if not self.root.is_dir():
            return []
        return sorted(
            path.name
            for path in self.root.iterdir()
            if path.is_dir() and VERSION_PATTERN.match(path.name) and (path / INFO_FILE).exists()
        )

    def folder(self, version: str) -> Path:
        """The folder of a version that exists; UnknownModelVersion otherwise."""
        if not VERSION_PATTERN.match(version) or version not in self.versions():
            raise UnknownModelVersion(f"no model version {version[:64]!r}")
        return self.root / version

    def active_version(self) -> str | None:
        """The version the ACTIVE pointer names, or None."""
        try:
            value = (self.root / ACTIVE_FILE).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return value or None

    def pointer_stamp(self) -> tuple[int, int, int] | None:
        """A cheap fingerprint of the pointer (inode, size, mtime): it changes whenever the pointer is replaced."""
        try:
            st = os.stat(self.root / ACTIVE_FILE)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def load(self, version: str) -> SegmentationModel:
        """Load one verified version."""
        return load_version(self.folder(version), signing_key=self.signing_key)

    def info(self, version: str) -> dict[str, Any]:
        """A version's model_info.json (unverified, for listings)."""
        return read_info(self.folder(version))

    def check(self, version: str, *, reuse_digests: bool = True) -> str | None:
        """Why a version cannot be used (manifest, checksums, signature), or None when it can.

        For listings, files unchanged since they were last hashed are not hashed again; activation passes
        `reuse_digests=False`, so what becomes active is checked byte for byte, as loading does.
        """
        try:
            read_manifest(self.folder(version), self.signing_key, reuse_digests=reuse_digests)
        except ArtifactError as exc:
            return exc.message
        return None

    def used_segment_ids(self) -> list[int]:
        """Every segment id any version on disk has used, so a new segment never reuses one."""
        used: set[int] = set()
        for version in self.versions():
            try:
                info = self.info(version)
            except ArtifactError:
                continue
            used.update(int(i) for i in info.get("segment_ids_used", []))
            used.update(int(segment["segment_id"]) for segment in info.get("segments", []))
        return sorted(used)

    def history(self) -> list[dict[str, Any]]:
        """Every activation, oldest first (lines that cannot be read are skipped and logged)."""
        path = self.root / HISTORY_FILE
        if not path.is_file():
            return []
        entries = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                entry = None
            if isinstance(entry, dict) and isinstance(entry.get("to"), str) and isinstance(entry.get("at"), str):
                entries.append(
                    {
                        "at": entry["at"],
                        "from": entry.get("from"),
                        "to": entry["to"],
                        "reason": str(entry.get("reason") or ""),
                        "key_id": entry.get("key_id"),
                    }
                )
            else:
                logger.warning("skipped unreadable line %d of %s", number, path)
        return entries

    def ever_had_model(self) -> bool:
        """True once any model was stored here: a version, a pointer, a history, or the old single-folder layout."""
        return bool(
            self.versions()
            or (self.root / ACTIVE_FILE).exists()
            or (self.root / HISTORY_FILE).exists()
            or (self.root / INFO_FILE).exists()
            or (self.root.parent / f".{self.root.name}.previous" / INFO_FILE).exists()
        )

    # -- changing ------------------------------------------------------------------------------------------

    def lock(self):
        """The folder-wide lock for activations, deletions, migrations and first-run training."""
        self.root.mkdir(parents=True, exist_ok=True)
        return exclusive_lock(self.root / LOCK_FILE)

    @contextmanager
    def changing(self) -> Iterator[None]:
        """The lock, with any change a crash interrupted settled first (every change runs under it).

        The lock is not re-entrant, so a caller that must check or write more under the same lock uses the
        `*_locked` steps inside this block rather than `activate` or `rollback`.
        """
        with self.lock():
            self._recover_locked()
            yield

    def _recover_locked(self) -> None:
        """Make ACTIVE and the history agree: settle an interrupted activation; record a pointer the history lacks."""
        intent = self.root / INTENT_FILE
        try:
            entry = json.loads(intent.read_text(encoding="utf-8"))
        except FileNotFoundError:
            entry = None
        except (OSError, ValueError):
            entry = {}  # cut short while being written: the pointer was not touched yet
        if entry is not None:
            self._settle(entry if isinstance(entry, dict) else {})
            intent.unlink(missing_ok=True)
        history = self.history()
        active = self.active_version()
        if not history or active is None or history[-1]["to"] == active:
            return
        if not VERSION_PATTERN.match(active) or not (self.root / active).is_dir() or self.check(active) is not None:
            return  # a pointer that cannot be served is the registry's to report, not a change to record
        # A pointer written by hand, or a crash in a release without `.activating`: the history says so, visibly.
        self._append_history(
            {
                "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "from": history[-1]["to"],
                "to": active,
                "reason": f"recovered: ACTIVE named {active} but the last activation recorded was to "
                f"{history[-1]['to']}",
                "key_id": None,
            }
        )
        logger.warning("the history did not end at the active version %s; recorded it as recovered", active)

    def _settle(self, entry: dict[str, Any]) -> None:
        """Finish an activation a crash interrupted after it replaced the pointer; forget one interrupted before."""
        target = entry.get("to")
        if not isinstance(target, str) or target != self.active_version():
            logger.warning("discarded an activation (to %s) that a crash interrupted before it took effect", target)
            return
        entry = {name: entry.get(name) for name in _ENTRY_FIELDS}
        if self.history()[-1:] != [entry]:  # the crash came before the history line, not after it
            self._append_history(entry)
        logger.warning("completed the activation of %s that a crash interrupted", target)

    def _write_pointer(self, version: str) -> None:
        with atomic_replace(self.root / ACTIVE_FILE, fsync=True) as handle:
            handle.write(f"{version}\n".encode())

    def _sync_folder(self) -> None:
        """Make the renames so far durable, so a power cut cannot reorder them with what is written next."""
        fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _commit(self, entry: dict[str, Any]) -> None:
        """Activate as `entry` says: written ahead, so a crash at any point is settled by `_recover_locked`."""
        with atomic_replace(self.root / INTENT_FILE, fsync=True) as handle:
            handle.write(json.dumps(entry, sort_keys=True).encode())
        self._sync_folder()
        self._write_pointer(entry["to"])
        self._sync_folder()
        self._append_history(entry)
        (self.root / INTENT_FILE).unlink()

    def _append_history(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, sort_keys=True) + "\n"
        fd = os.open(self.root / HISTORY_FILE, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = "\n" + line  # a line cut short by a power cut stays unreadable on its own, not glued to this one
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def activate_locked(self, version: str, *, reason: str, key: str | None) -> dict[str, Any]:
        """`activate`'s step for a caller holding `changing()`."""
        problem = self.check(version, reuse_digests=False)
        if problem is not None:
            raise VersionConflict(f"version {version} is unusable and was not activated: {problem}")
        previous = self.active_version()
        if previous == version:
            # Recorded, it would be an entry from a version to itself, and the next rollback would "return" to it.
            raise VersionConflict(f"version {version} is already active; nothing was changed")
        entry = {
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "from": previous,
            "to": version,
            "reason": reason,
            "key_id": key,
        }
        self._commit(entry)
        logger.info("activated model version %s (was %s): %s", version, previous, reason)
        return entry

    def activate(self, version: str, *, reason: str = "", key: str | None = None) -> dict[str, Any]:
        """Point ACTIVE at a usable version and record it in the history; return the history entry."""
        self.folder(version)
        with self.changing():
            return self.activate_locked(version, reason=reason, key=key)

    def activate_if_none(self, version: str, *, reason: str, key: str | None = None) -> bool:
        """Activate `version` only when no version is active (atomically); True when it did."""
        with self.changing():
            if self.active_version() is not None:
                return False
            self.activate_locked(version, reason=reason, key=key)
            return True

    def rollback_target(self) -> str:
        """The version a rollback would activate now; VersionConflict saying why when there is none."""
        current = self.active_version()
        if current is None:
            raise VersionConflict("no version is active, so there is nothing to roll back from")
        # Entries from a version to itself (recorded before re-activation was refused) are no step back.
        previous = next(
            (
                entry.get("from")
                for entry in reversed(self.history())
                if entry.get("to") == current and entry.get("from") != current
            ),
            None,
        )
        if previous is None:
            raise VersionConflict(f"the history has no version that was active before {current}")
        if previous not in self.versions():
            raise VersionConflict(f"the previously active version {previous} has been deleted")
        return previous

    def rollback(self, *, reason: str = "", key: str | None = None) -> dict[str, Any]:
        """Go back to the version that was active before the current one, from the history."""
        with self.changing():
            return self.rollback_locked(reason=reason, key=key)

    def rollback_locked(self, *, reason: str, key: str | None) -> dict[str, Any]:
        """`rollback`'s step for a caller holding `changing()`."""
        previous = self.rollback_target()
        return self.activate_locked(previous, reason=reason or f"rollback from {self.active_version()}", key=key)

    def delete(self, version: str) -> None:
        """Remove a version that is not active (409 for the active one)."""
        self.folder(version)  # 404 at once, without waiting for the lock
        with self.changing():
            self.delete_locked(version)

    def delete_locked(self, version: str) -> None:
        """`delete`'s step for a caller holding `changing()`."""
        folder = self.folder(version)  # again under the lock: another request may have deleted it meanwhile
        if self.active_version() == version:
            raise VersionConflict(f"version {version} is active: activate another version before deleting it")
        # Renamed first so readers never see a half-deleted version; then removed.
        trash = Path(tempfile.mkdtemp(prefix=".deleted-", dir=self.root))
        folder.rename(trash / version)
        shutil.rmtree(trash, ignore_errors=True)
        logger.info("deleted model version %s", version)

    def prepare(self) -> None:
        """Start-up housekeeping: settle an interrupted activation, migrate the old layout, remove orphans."""
        if not self.root.exists():
            return
        with self.changing():
            self._migrate_legacy()
            clean_orphans(self.root)
            for path in self.root.iterdir():
                if path.name.startswith((".deleted-", f".{ACTIVE_FILE}.", f".{INTENT_FILE}.", ".migrating-")):
                    logger.warning("removed %s, left by an interrupted change", path)
                    if path.is_dir():
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        path.unlink(missing_ok=True)

    def _migrate_legacy(self) -> None:
        """Move a model saved in the old layout (files directly in the folder) into a version of its own."""
        previous = self.root.parent / f".{self.root.name}.previous"
        source = self.root
        if not (source / INFO_FILE).is_file() and (previous / INFO_FILE).is_file():
            source = previous  # an old save died between its two renames: that copy is the good one
        if not (source / INFO_FILE).is_file():
            return
        try:
            info = json.loads((source / INFO_FILE).read_text(encoding="utf-8"))
            version = str(info["version"])
        except (OSError, ValueError, KeyError, TypeError):
            logger.error("the old-layout model in %s is unreadable and was left in place", source)
            return
        if not VERSION_PATTERN.match(version) or (self.root / version).exists():
            logger.error("the old-layout model in %s has an unusable or taken version id; left in place", source)
            return
        staging = Path(tempfile.mkdtemp(prefix=".migrating-", dir=self.root))
        staging.chmod(0o755)
        for name in ARTIFACT_FILES:
            if (source / name).is_file():
                shutil.copy2(source / name, staging / name)
        recorded = info.get("artifacts") or {}
        intact = all(
            (staging / name).is_file() and sha256_file(staging / name) == recorded.get(name) for name in PICKLES
        )
        if intact:
            # The old layout's own checksums hold, so the files are what training wrote: record them.
            write_manifest(staging, version, self.signing_key)
        else:
            logger.error("the old-layout model %s fails its own checksums: migrated without a manifest", version)
        staging.rename(self.root / version)
        for name in ARTIFACT_FILES:
            (source / name).unlink(missing_ok=True)
        if source is previous:
            shutil.rmtree(previous, ignore_errors=True)
        if self.active_version() is None:
            self._commit(
                {
                    "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "from": None,
                    "to": version,
                    "reason": "migrated from the single-folder layout",
                    "key_id": None,
                }
            )
        logger.warning("migrated the single-folder model %s into %s", version, self.root / version)


def load_model(path: str | Path, *, signing_key: bytes | None = None) -> SegmentationModel:
    """Load a version folder, or the active version of a versions folder."""
    path = Path(path)
    if (path / MANIFEST_FILE).is_file():
        return load_version(path, signing_key=signing_key)
    store = VersionStore(path, signing_key=signing_key)
    active = store.active_version()
    if active is None:
        raise ArtifactError(f"no active model in {path.name}: run `python train_model.py` to create one")
    return store.load(active)


def model_exists(root: str | Path) -> bool:
    """True when the versions folder has, or has ever had, a model (or holds one in the old layout)."""
    return VersionStore(Path(root)).ever_had_model()
