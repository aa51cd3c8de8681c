"""Rules and feature importance for a report, as the version recorded them at training (app.services.rules)."""

from app.models.model import SegmentationModel
from app.services import rules


def segment_rules(model: SegmentationModel) -> dict[int, list[str]]:
    """Each segment id's rules as sentences (with the segment's name as served); {} for a version without rules."""
    return {item["segment_id"]: item["rules"] for item in rules.all_rules(model)}


def feature_importance(model: SegmentationModel) -> list[tuple[str, float]]:
    """(feature label, permutation importance), largest first; [] for a version without importance."""
    recorded = rules.feature_importance(model)
    if recorded is None:
        return []
    return [(item["label"], float(item["importance"])) for item in recorded["features"]]
