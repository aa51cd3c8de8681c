"""Segment rules and feature importance as a version recorded them at training: read, never recomputed."""

from typing import Any

from app.core.errors import UnknownSegment, VersionConflict
from app.models.model import Segment, SegmentationModel

NO_RULES_NOTE = "trained before segment rules and feature importance were recorded: retrain it to get them"


def has_rules(model: SegmentationModel) -> bool:
    """Whether the version recorded segment rules at training."""
    return "segment_rules" in model.info


def _known(model: SegmentationModel, segment_id: int) -> Segment:
    segment = model.segment(segment_id)
    if segment is None:
        known = ", ".join(str(s.segment_id) for s in model.segments)
        raise UnknownSegment(f"no segment with id {segment_id}; this model has segment ids {known}")
    return segment


def _rules_of(model: SegmentationModel, segment: Segment) -> dict[str, Any]:
    recorded = model.info["segment_rules"]
    rules = recorded["segments"].get(str(segment.segment_id)) or {}
    alternatives = rules.get("conditions", [])
    return {
        "segment_id": segment.segment_id,
        "segment_name": segment.name,
        # Sentences take the segment's name as served, so they read as every other surface names it.
        "rules": [f"{clause} → {segment.name}" for clause in rules.get("clauses", [])],
        "conditions": alternatives,
        "sql": rules.get("sql", "1 = 0"),
        "fidelity": rules.get("fidelity", 0.0),
        "precision": rules.get("precision", 0.0),
        "recall": rules.get("recall", 0.0),
    }


def segment_rules(model: SegmentationModel, *, segment_id: int) -> dict[str, Any]:
    """One segment's rules as sentences, conditions and SQL, with their precision, recall and fidelity."""
    segment = _known(model, segment_id)
    if not has_rules(model):
        raise VersionConflict(f"version {model.version} was {NO_RULES_NOTE}")
    recorded = model.info["segment_rules"]
    return {
        **_rules_of(model, segment),
        "model_version": model.version,
        "overall_fidelity": recorded["fidelity"],
        "max_depth": recorded["max_depth"],
    }


def all_rules(model: SegmentationModel) -> list[dict[str, Any]]:
    """Every segment's rules, in segment order; empty for a version trained before rules were recorded."""
    if not has_rules(model):
        return []
    return [_rules_of(model, segment) for segment in model.segments]


def overall_fidelity(model: SegmentationModel) -> float | None:
    """Share of training customers the rules put in the model's own segment; None without rules."""
    return model.info["segment_rules"]["fidelity"] if has_rules(model) else None


def feature_importance(model: SegmentationModel) -> dict[str, Any] | None:
    """Permutation importance of each feature (most important first); None for a version without it."""
    recorded = model.info.get("importance")
    if not recorded:
        return None
    return {key: value for key, value in recorded.items() if key != "segments"}


def standardized_centroid(model: SegmentationModel, segment_id: int) -> dict[str, float] | None:
    """A segment's centroid per feature in standard deviations from the training mean; None when not recorded."""
    recorded = model.info.get("importance")
    return recorded["segments"].get(str(segment_id)) if recorded else None
