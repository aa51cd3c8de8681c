"""What each segment is and how big it is, and what the model is: the facts behind /clusters and /model."""

from typing import Any

from app.core.errors import UnknownSegment
from app.models.model import Segment, SegmentationModel
from app.models.rfm.left_out import left_out_notes
from app.models.small_segments import small_segment_notes
from app.services import rules


def _stats(segment: Segment, model: SegmentationModel) -> dict[str, Any]:
    stats = {
        "segment_id": segment.segment_id,
        "segment_name": segment.name,
        "size": segment.size,
        "share": segment.share,
        "centroid": segment.centroid,
        "features": {name: stats.summary() for name, stats in segment.stats.items()},
    }
    if segment.profile:  # absent, not empty or zero, when the training data had no age or gender
        stats["profile"] = segment.profile
    if (position := rules.standardized_centroid(model, segment.segment_id)) is not None:
        stats["standardized_centroid"] = position
    return stats


def _info(segment: Segment) -> dict[str, Any]:
    return {
        "segment_id": segment.segment_id,
        "segment_name": segment.name,
        "description": segment.description,
        "marketing_strategy": segment.strategy,
        "characteristics": segment.characteristics,
        "levels": segment.levels,
    }


def segment_statistics(model: SegmentationModel) -> dict[str, Any]:
    """Size, share, centroid and per-feature statistics of every segment."""
    return {
        "model_version": model.version,
        "n_samples": model.info["n_samples"],
        "segments": [_stats(segment, model) for segment in model.segments],
    }


def segment_descriptions(model: SegmentationModel) -> dict[str, Any]:
    """Name, description, strategy and characteristics of every segment."""
    return {"model_version": model.version, "segments": [_info(segment) for segment in model.segments]}


def segment_detail(model: SegmentationModel, *, segment_id: int) -> dict[str, Any]:
    """Statistics and meaning of one segment, by stable id."""
    segment = model.segment(segment_id)
    if segment is None:
        known = ", ".join(str(s.segment_id) for s in model.segments)
        raise UnknownSegment(f"no segment with id {segment_id}; this model has segment ids {known}")
    return {**_stats(segment, model), **_info(segment), "model_version": model.version}


def model_facts(model: SegmentationModel, *, include_sklearn_version: bool) -> dict[str, Any]:
    """Metadata of the loaded model: what it is, how it was trained and how good it is."""
    # The library version tells an attacker which known vulnerabilities to try: only admins are told it.
    hidden = {"map_sample"} if include_sklearn_version else {"map_sample", "sklearn_version"}
    return {key: value for key, value in model.info.items() if key not in hidden} | {
        "version": model.version,
        "auto_trained": bool(model.info.get("auto_trained")),
        "signed": bool(model.info.get("signed")),
        "notes": model_notes(model),
        "importance": rules.feature_importance(model),
        "rules_fidelity": rules.overall_fidelity(model),
    }


AUTO_TRAINED_NOTE = (
    "trained automatically at start-up on the bundled synthetic data (200 made-up customers), not on your data"
)
UNSIGNED_NOTE = "the artifacts are unsigned (sha256 checksums only): set MODEL_SIGNING_KEY to sign and verify them"


def model_notes(model: SegmentationModel) -> list[str]:
    """Warnings a reader of the model's metadata should see."""
    notes = []
    if model.info.get("auto_trained"):
        notes.append(AUTO_TRAINED_NOTE)
    if not model.info.get("signed"):
        notes.append(UNSIGNED_NOTE)
    if not rules.has_rules(model):
        notes.append(rules.NO_RULES_NOTE)
    return notes + left_out_notes(model.info) + small_segment_notes(model.segments)
