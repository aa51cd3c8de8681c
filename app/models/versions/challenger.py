"""A segmentation's challenger: a second version that takes a share of live traffic (split) or scores beside the
champion (shadow), kept beside the versions so that every worker and host sees the same setting.

    models_artifacts/
        CHALLENGER                 {"version", "mode", "share", "set_at", "key_id"} (replaced atomically), or absent
        challenger-history.jsonl   one line per change: set, stopped, promoted, cleared (by an activation)

The activation history (history.jsonl) stays a list of activations only: rollback reads it.
"""

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.models.model import SegmentationModel
from app.utils.files import atomic_replace

logger = logging.getLogger(__name__)

CHALLENGER_FILE = "CHALLENGER"
CHALLENGER_HISTORY_FILE = "challenger-history.jsonl"
MODES = ("split", "shadow")
CHAMPION, CHALLENGER = "champion", "challenger"
_SCALE = float(2**64)


def arm_of(segmentation: str, customer_id: object, share: float) -> str:
    """The arm a customer id gets: the first 8 bytes of blake2b(segmentation, id) as a fraction, against the share.

    Stable across workers, restarts and hosts (unlike `hash()`), and independent between segmentations.
    """
    digest = hashlib.blake2b(f"{segmentation}\x00{customer_id}".encode(), digest_size=8).digest()
    return CHALLENGER if int.from_bytes(digest, "big") / _SCALE < share else CHAMPION


@dataclass(frozen=True, slots=True)
class Challenger:
    """The challenger a registry serves: the setting and its verified model, loaded once."""

    version: str
    mode: str
    share: float
    set_at: str
    model: SegmentationModel
    key_id: str | None = None

    def setting(self) -> dict[str, Any]:
        """The setting as the API shows it."""
        return {"version": self.version, "mode": self.mode, "share": self.share, "set_at": self.set_at}


def stamp(root: Path) -> tuple[int, int, int] | None:
    """A cheap fingerprint of the CHALLENGER file (None when absent): it changes whenever the file is replaced."""
    try:
        st = os.stat(root / CHALLENGER_FILE)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def read_setting(root: Path) -> dict[str, Any] | None:
    """The challenger setting on disk, or None (an unreadable file is logged and read as none)."""
    try:
        setting = json.loads((root / CHALLENGER_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.error("the challenger setting in %s is unreadable; serving the champion only: %s", root.name, exc)
        return None
    valid = (
        isinstance(setting, dict)
        and isinstance(setting.get("version"), str)
        and setting.get("mode") in MODES
        and isinstance(setting.get("share"), int | float)
    )
    if not valid:
        logger.error("the challenger setting in %s is malformed; serving the champion only", root.name)
        return None
    return setting


def write_setting(root: Path, setting: dict[str, Any] | None, *, event: str, reason: str, key: str | None) -> dict:
    """Replace (or remove, for None) the setting, then append the change to the challenger history; the entry."""
    previous = read_setting(root)
    if setting is None:
        (root / CHALLENGER_FILE).unlink(missing_ok=True)
    else:
        with atomic_replace(root / CHALLENGER_FILE, fsync=True) as handle:
            handle.write(json.dumps(setting, sort_keys=True).encode())
    entry = {
        "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "event": event,
        "version": (setting or previous or {}).get("version"),
        "mode": (setting or previous or {}).get("mode"),
        "share": (setting or previous or {}).get("share"),
        "reason": reason,
        "key_id": key,
    }
    with open(root / CHALLENGER_HISTORY_FILE, "a", encoding="utf-8") as history:
        history.write(json.dumps(entry, sort_keys=True) + "\n")
        history.flush()
        os.fsync(history.fileno())
    logger.info("challenger %s: %s (%s)", event, entry["version"], reason)
    return entry


def read_history(root: Path) -> list[dict[str, Any]]:
    """Every challenger change, oldest first (unreadable lines skipped)."""
    path = root / CHALLENGER_HISTORY_FILE
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("event"), str):
            entries.append(entry)
    return entries
