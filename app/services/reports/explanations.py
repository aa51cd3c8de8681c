"""Rules and feature importance from a version's info, read defensively: the explanation work that writes them
may change their shape, and a report of a version without them simply leaves the parts out."""

from collections.abc import Mapping
from typing import Any

from app.models.model import SegmentationModel

# The keys the explanation work may use; the first present wins.
RULE_KEYS = ("rules", "segment_rules")
IMPORTANCE_KEYS = ("feature_importance", "importance")


def _first(info: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    return next((info[key] for key in keys if info.get(key)), None)


def _texts(value: Any) -> list[str]:
    """A rule or a list of rules as lines of text: strings as they are, {"text"|"rule"|"description": ...} by key."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        text = value.get("text") or value.get("rule") or value.get("description")
        return [str(text)] if text else []
    if isinstance(value, list | tuple):
        return [text for item in value for text in _texts(item)]
    return []


def segment_rules(info: Mapping[str, Any]) -> dict[int, list[str]]:
    """Each segment id's rules: from {id: rules} or [{"segment_id": id, "rules": ...}]; {} when absent or unreadable."""
    rules = _first(info, RULE_KEYS)
    found: dict[int, list[str]] = {}
    if isinstance(rules, Mapping):
        items = rules.items()
    elif isinstance(rules, list):
        items = [
            (item.get("segment_id"), item.get("rules", item.get("text", item.get("rule"))))
            for item in rules
            if isinstance(item, Mapping)
        ]
    else:
        return found
    for key, value in items:
        try:
            segment_id = int(key)
        except (TypeError, ValueError):
            continue
        texts = _texts(value)
        if texts:
            found[segment_id] = texts
    return found


def feature_importance(model: SegmentationModel) -> list[tuple[str, float]]:
    """(feature label, importance), largest first: from {name: value} or [{"feature": name, "importance": v}]."""
    value = _first(model.info, IMPORTANCE_KEYS)
    pairs: list[tuple[Any, Any]] = []
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, list):
        pairs = [
            (item.get("feature", item.get("name")), item.get("importance", item.get("value")))
            for item in value
            if isinstance(item, Mapping)
        ]
    labels = {spec.name: spec.label for spec in model.feature_specs}
    found = []
    for name, number in pairs:
        try:
            found.append((labels.get(str(name), str(name)), float(number)))
        except (TypeError, ValueError):
            continue
    return sorted(found, key=lambda pair: -pair[1])
