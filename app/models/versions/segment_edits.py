"""Segment names, descriptions and strategies the team owns: kept beside the versions, never inside them.

A version folder is signed and never changes, so the team's text lives in `segment_edits.json` in the versions
folder, keyed by segment id, replaced whole under the folder's lock (as `labels.json` is). Segment ids survive
retrains (app/models/naming/identity.py), so an edit follows its segment into every later version; a new segment
has its generated text until someone edits it. The registry applies the edits to the models it hands out, so every
surface shows the team's text, while `Segment.generated_name` keeps the name metrics are labelled with.

    {"segments": {"1": {"name": "Top spenders"}},
     "history": [{"id": 1, "segment_id": 1, "field": "name", "old": "VIP / Whale", "new": "Top spenders",
                  "old_edited": false, "new_edited": true, "at": "...", "key_id": "key-…", "reason": "...",
                  "version": "...", "revert_of": null}],
     "next_id": 2}
"""

import json
import logging
import os
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.core.errors import InvalidRequest
from app.models.model import Segment, SegmentationModel
from app.utils.files import atomic_replace
from app.utils.text import JOINERS, invisible_char

logger = logging.getLogger(__name__)

EDITS_FILE = "segment_edits.json"
FIELDS = ("name", "description", "marketing_strategy")
MAX_NAME_LENGTH = 60
MAX_DESCRIPTION_LENGTH = 600
MAX_STRATEGY_ITEMS = 10
MAX_STRATEGY_ITEM_LENGTH = 200
# Characters that change how the text around them is shown (bidi overrides and isolates) can disguise a name.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


@dataclass
class SegmentEdits:
    """The current text per segment id (only the edited fields) and every change, oldest first."""

    segments: dict[int, dict[str, Any]] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 1


def _control(text: str, *, line_breaks: bool) -> str | None:
    """The first control character of `text` (a line break allowed when `line_breaks`), or None."""
    for char in text:
        if line_breaks and char == "\n":
            continue
        if unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS:
            return char
    return None


def _clean(value: str, *, what: str, limit: int, line_breaks: bool = False) -> str:
    text = value.replace("\r\n", "\n").strip() if line_breaks else value.strip()
    if not text:
        raise InvalidRequest(f"{what} cannot be empty")
    if len(text) > limit:
        raise InvalidRequest(f"{what} has at most {limit} characters, got {len(text)}")
    char = _control(text, line_breaks=line_breaks)
    if char is not None:
        raise InvalidRequest(f"{what} cannot hold control characters (found U+{ord(char):04X})")
    return text


def clean_name(name: str) -> str:
    """A segment name as stored: trimmed, 1 to MAX_NAME_LENGTH characters, one line (InvalidRequest otherwise)."""
    text = _clean(name, what="a segment name", limit=MAX_NAME_LENGTH)
    # A zero-width or no-break space makes a name that reads as another segment's; letters of any script stay.
    char = invisible_char(text)
    if char is not None:
        raise InvalidRequest(
            f"a segment name cannot hold invisible characters or spaces other than the plain space (found "
            f"U+{ord(char):04X})"
        )
    return text


def name_key(name: str) -> str:
    """What two segment names are compared by: NFKC-normalised, white space collapsed, case folded.

    Names equal under it read the same ("Ａverage", "average" and "Average" alike), so one model cannot hold both.
    """
    visible = "".join(char for char in name if char not in JOINERS)
    folded = " ".join(unicodedata.normalize("NFKC", visible).split()).casefold()
    return unicodedata.normalize("NFKC", folded)  # case folding can undo a normalisation ("ǰ")


def clean_description(description: str) -> str:
    """A description as stored: trimmed, 1 to MAX_DESCRIPTION_LENGTH characters, line breaks allowed."""
    return _clean(description, what="a description", limit=MAX_DESCRIPTION_LENGTH, line_breaks=True)


def clean_strategy(actions: list[str]) -> list[str]:
    """A marketing strategy as stored: 1 to MAX_STRATEGY_ITEMS actions, each one trimmed line."""
    if not actions:
        raise InvalidRequest("marketing_strategy needs at least one action")
    if len(actions) > MAX_STRATEGY_ITEMS:
        raise InvalidRequest(f"marketing_strategy has at most {MAX_STRATEGY_ITEMS} actions, got {len(actions)}")
    return [
        _clean(action, what=f"marketing_strategy action {number}", limit=MAX_STRATEGY_ITEM_LENGTH)
        for number, action in enumerate(actions, start=1)
    ]


def edits_stamp(root: Path) -> tuple[int, int, int] | None:
    """A cheap fingerprint of the edits file (inode, size, mtime): it changes whenever the file is replaced."""
    try:
        st = os.stat(root / EDITS_FILE)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _valid_text(field_name: str, value: Any) -> bool:
    if field_name == "marketing_strategy":
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    return isinstance(value, str)


def read_edits(root: Path) -> SegmentEdits:
    """The edits of a versions folder; none when the file was never written or cannot be read (logged)."""
    path = root / EDITS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return SegmentEdits()
    except (OSError, ValueError):
        logger.error("%s is unreadable: the generated segment names are shown until it is replaced", path)
        return SegmentEdits()
    if not isinstance(data, dict):
        return SegmentEdits()
    segments: dict[int, dict[str, Any]] = {}
    for key, values in (data.get("segments") or {}).items():
        if str(key).isdigit() and isinstance(values, dict):
            kept = {name: value for name, value in values.items() if name in FIELDS and _valid_text(name, value)}
            if kept:
                segments[int(key)] = kept
    history = [entry for entry in data.get("history") or [] if isinstance(entry, dict) and "id" in entry]
    next_id = data.get("next_id") if isinstance(data.get("next_id"), int) else len(history) + 1
    return SegmentEdits(segments, history, max(next_id, 1))


def _write(root: Path, edits: SegmentEdits) -> None:
    data = {
        "segments": {str(segment_id): values for segment_id, values in sorted(edits.segments.items())},
        "history": edits.history,
        "next_id": edits.next_id,
    }
    with atomic_replace(root / EDITS_FILE, fsync=True) as handle:
        handle.write((json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode())


def current_text(segment: Segment) -> dict[str, Any]:
    """A segment's name, description and strategy as shown, by field."""
    return {"name": segment.name, "description": segment.description, "marketing_strategy": list(segment.strategy)}


def record_changes(
    root: Path,
    *,
    segment_id: int,
    shown: dict[str, Any],
    changes: dict[str, tuple[Any, bool]],
    reason: str,
    key: str | None,
    version: str,
    revert_of: int | None = None,
) -> list[dict[str, Any]]:
    """Store new text for a segment's fields and one history entry per field; call under the folder's lock.

    `shown` is the segment's text as served now; each change is (the text shown after it, whether it is the team's
    own): False drops the field's edit, so the generated text returns. Returns the entries written.
    """
    edits = read_edits(root)
    own = dict(edits.segments.get(segment_id, {}))
    at = datetime.now(UTC).isoformat(timespec="milliseconds")
    entries = []
    for field_name, (value, edited) in changes.items():
        entry = {
            "id": edits.next_id,
            "segment_id": segment_id,
            "field": field_name,
            "old": shown[field_name],
            "new": value,
            "old_edited": field_name in own,
            "new_edited": edited,
            "at": at,
            "key_id": key,
            "reason": reason,
            "version": version,
            "revert_of": revert_of,
        }
        if edited:
            own[field_name] = value
        else:
            own.pop(field_name, None)
        edits.next_id += 1
        edits.history.append(entry)
        entries.append(entry)
    if own:
        edits.segments[segment_id] = own
    else:
        edits.segments.pop(segment_id, None)
    _write(root, edits)
    return entries


def apply_edits(model: SegmentationModel, edits: SegmentEdits) -> SegmentationModel:
    """The model with the team's text on its segments (the model itself when none of its segments is edited)."""
    if not any(segment.segment_id in edits.segments for segment in model.segments):
        return model
    segments = []
    for segment in model.segments:
        own = edits.segments.get(segment.segment_id)
        if own:
            segment = replace(
                segment,
                name=own.get("name", segment.name),
                description=own.get("description", segment.description),
                strategy=list(own.get("marketing_strategy", segment.strategy)),
                generated_name=segment.name,
            )
        segments.append(segment)
    return replace(model, segments=segments)
