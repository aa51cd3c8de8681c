"""Renaming segments and editing their description and strategy, with history and revert (the team's own text).

The text is kept beside the versions (app/models/versions/segment_edits.py) and applied by the registry, so every
surface shows it. Changes run under the versions folder's lock; the API's worker applies them at once, the others
at their next poll of the folder.
"""

from typing import Any

from app.core.errors import InvalidRequest, ModelStoreError, SegmentationError, UnknownSegment, VersionConflict
from app.models.model import Segment, SegmentationModel
from app.models.versions.registry import ModelRegistry
from app.models.versions.segment_edits import (
    clean_description,
    clean_name,
    clean_strategy,
    current_text,
    name_key,
    read_edits,
    record_changes,
)
from app.services.lifecycle import MAX_REASON_LENGTH

NOTHING_TO_CHANGE = "nothing to change: send a new name, description or marketing_strategy"


def _segment(model: SegmentationModel, segment_id: int) -> Segment:
    segment = model.segment(segment_id)
    if segment is None:
        known = ", ".join(str(s.segment_id) for s in model.segments)
        raise UnknownSegment(f"no segment with id {segment_id}; the active model has segment ids {known}")
    return segment


def segment_text(model: SegmentationModel, *, segment_id: int, edited: dict[str, Any]) -> dict[str, Any]:
    """A segment's name, description and strategy as shown, its generated name, and which fields the team edited."""
    segment = _segment(model, segment_id)
    return {
        "segment_id": segment_id,
        "segment_name": segment.name,
        "generated_name": segment.metric_name,
        "description": segment.description,
        "marketing_strategy": list(segment.strategy),
        "edited": sorted(edited),
        "model_version": model.version,
    }


def _check_name_free(model: SegmentationModel, *, segment_id: int, name: str) -> None:
    """VersionConflict when another segment of the model is already shown under a name that reads the same."""
    key = name_key(name)
    for other in model.segments:
        if other.segment_id != segment_id and name_key(other.name) == key:
            raise VersionConflict(
                f"segment {other.segment_id} is already called {other.name!r}: two segments of one model cannot "
                "share a name"
            )


def _change(
    registry: ModelRegistry,
    *,
    segment_id: int,
    changes: dict[str, tuple[Any, bool]],
    reason: str,
    key: str | None,
    revert_of: int | None = None,
) -> dict[str, Any]:
    """Record `changes` (field -> (text shown after, whether it is the team's own)) under the folder's lock."""
    try:
        entries = _record(registry, segment_id=segment_id, changes=changes, reason=reason, key=key, revert_of=revert_of)
    except OSError as exc:  # a read-only or full versions folder: nothing was changed
        raise ModelStoreError(
            f"the segment's text could not be saved in the versions folder: {exc.strerror or type(exc).__name__}"
        ) from None
    registry.refresh()
    edited = read_edits(registry.store.root).segments.get(segment_id, {})
    return segment_text(registry.get(), segment_id=segment_id, edited=edited) | {"entries": entries}


def _record(
    registry: ModelRegistry,
    *,
    segment_id: int,
    changes: dict[str, tuple[Any, bool]],
    reason: str,
    key: str | None,
    revert_of: int | None,
) -> list[dict[str, Any]]:
    """Check the changes against the text served now and store them, all under the versions folder's lock."""
    with registry.store.lock():
        registry.refresh()  # another worker's edit of a moment ago counts as the text shown now
        model = registry.get()
        shown = current_text(_segment(model, segment_id))
        changes = {name: change for name, change in changes.items() if change[0] != shown[name]}
        if not changes:
            raise InvalidRequest(f"{NOTHING_TO_CHANGE}: segment {segment_id} already shows this text")
        if "name" in changes:
            _check_name_free(model, segment_id=segment_id, name=changes["name"][0])
        entries = record_changes(
            registry.store.root,
            segment_id=segment_id,
            shown=shown,
            changes=changes,
            reason=reason[:MAX_REASON_LENGTH],
            key=key,
            version=model.version,
            revert_of=revert_of,
        )
    return entries


def edit_segment(
    *,
    registry: ModelRegistry,
    segment_id: int,
    name: str | None = None,
    description: str | None = None,
    marketing_strategy: list[str] | None = None,
    reason: str = "",
    key: str | None,
) -> dict[str, Any]:
    """Give a segment of the active model the team's name, description or strategy; every version after keeps it."""
    _segment(registry.get(), segment_id)  # 404 before the text is judged
    wanted: dict[str, tuple[Any, bool]] = {}
    if name is not None:
        wanted["name"] = (clean_name(name), True)
    if description is not None:
        wanted["description"] = (clean_description(description), True)
    if marketing_strategy is not None:
        wanted["marketing_strategy"] = (clean_strategy(marketing_strategy), True)
    if not wanted:
        raise InvalidRequest(NOTHING_TO_CHANGE)
    return _change(registry, segment_id=segment_id, changes=wanted, reason=reason, key=key)


def revert_edit(
    *, registry: ModelRegistry, segment_id: int, entry_id: int, reason: str = "", key: str | None
) -> dict[str, Any]:
    """Put back the text a change replaced: the team's earlier text, or the generated one when there was none."""
    _segment(registry.get(), segment_id)
    entry = next(
        (e for e in read_edits(registry.store.root).history if e["id"] == entry_id and e["segment_id"] == segment_id),
        None,
    )
    if entry is None:
        raise UnknownSegment(f"segment {segment_id} has no change {entry_id} in its history")
    field_name = entry["field"]
    if entry.get("old_edited"):
        value = entry["old"]
    else:
        generated = registry.generated or registry.get()
        value = current_text(_segment(generated, segment_id))[field_name]
    return _change(
        registry,
        segment_id=segment_id,
        changes={field_name: (value, bool(entry.get("old_edited")))},
        reason=reason or f"revert of change {entry_id}",
        key=key,
        revert_of=entry_id,
    )


def _generated_names(registry: ModelRegistry, segment_id: int) -> dict[str, str]:
    """The generated name of the segment in each version on disk that has it."""
    names = {}
    for version in registry.store.versions():
        try:
            info = registry.store.info(version)
        except SegmentationError:
            continue  # an unreadable version is the versions listing's to report
        for segment in info.get("segments", []):
            if segment.get("segment_id") == segment_id:
                names[version] = str(segment.get("name"))
    return names


def segment_history(*, registry: ModelRegistry, segment_id: int) -> dict[str, Any]:
    """Every change of a segment's text and every activation of a version holding it, oldest first.

    An activation entry says what the segment was called in the version that became active: the team's name
    carried over from the versions before, or the generated one when the team had not renamed it.
    """
    model = registry.get()
    _segment(model, segment_id)
    edits = read_edits(registry.store.root)
    changes = [dict(entry, kind="edit") for entry in edits.history if entry.get("segment_id") == segment_id]
    generated = _generated_names(registry, segment_id)
    activations = [
        {
            "kind": "activation",
            "at": entry["at"],
            "version": entry["to"],
            "from_version": entry["from"],
            "key_id": entry["key_id"],
            "reason": entry["reason"],
            "generated_name": generated[entry["to"]],
        }
        for entry in registry.store.history()
        if entry["to"] in generated
    ]
    # Same-millisecond ties: the activation first, as an edit is checked against the model already active.
    entries = sorted(changes + activations, key=lambda entry: (entry["at"], entry["kind"] == "edit"))
    name: str | None = None  # the team's name in effect, replayed in order
    for entry in entries:
        if entry["kind"] == "edit" and entry["field"] == "name":
            name = entry["new"] if entry.get("new_edited", True) else None
        elif entry["kind"] == "activation":
            entry["name"] = name or entry["generated_name"]
            entry["carried_over"] = name is not None
    current = segment_text(model, segment_id=segment_id, edited=edits.segments.get(segment_id, {}))
    return current | {"entries": entries}


def recent_changes(*, registry: ModelRegistry, limit: int = 5) -> dict[int, list[dict[str, Any]]]:
    """The latest changes of each segment's text, newest first, for the model card."""
    changes: dict[int, list[dict[str, Any]]] = {}
    for entry in reversed(read_edits(registry.store.root).history):
        kept = changes.setdefault(int(entry["segment_id"]), [])
        if len(kept) < limit:
            kept.append(entry)
    return changes
