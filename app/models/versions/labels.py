"""Labels people give versions ("spring export, cleaned"): kept beside the versions, never inside them.

A version folder is signed and never changes, so a label lives in `labels.json` in the versions folder, replaced
whole under the folder's lock. Deleting a version drops its label.
"""

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.core.errors import InvalidRequest
from app.utils.files import atomic_replace

logger = logging.getLogger(__name__)

LABELS_FILE = "labels.json"
MAX_LABEL_LENGTH = 80


def clean_label(label: str) -> str:
    """A label as stored: one line, trimmed, at most MAX_LABEL_LENGTH characters (InvalidRequest otherwise)."""
    text = " ".join(label.split())
    if len(text) > MAX_LABEL_LENGTH:
        raise InvalidRequest(f"a label has at most {MAX_LABEL_LENGTH} characters, got {len(text)}")
    return text


def read_labels(root: Path) -> dict[str, dict[str, Any]]:
    """Every version's label entry (label, when, by which key id); {} when none was ever set or the file is bad."""
    try:
        labels = json.loads((root / LABELS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        logger.error("%s is unreadable: version labels are not shown until it is replaced", root / LABELS_FILE)
        return {}
    if not isinstance(labels, dict):
        return {}
    return {k: v for k, v in labels.items() if isinstance(v, dict) and isinstance(v.get("label"), str)}


def write_label(root: Path, version: str, label: str, *, key: str | None) -> dict[str, Any] | None:
    """Set (or, with an empty label, remove) a version's label; call under the versions folder's lock."""
    labels = read_labels(root)
    entry = None
    if label:
        entry = {"label": label, "at": datetime.now(UTC).isoformat(timespec="milliseconds"), "key_id": key}
        labels[version] = entry
    else:
        labels.pop(version, None)
    with atomic_replace(root / LABELS_FILE, fsync=True) as handle:
        handle.write((json.dumps(labels, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode())
    return entry
