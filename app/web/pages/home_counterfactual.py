"""The home page's "What would make this customer …" card: a segment picker, the smallest change, its map path."""

from collections.abc import Mapping
from typing import Any

from app.core.errors import SegmentationError
from app.models.model import SegmentationModel
from app.services.counterfactual import counterfactual_answer
from app.web.charts.segment_map import place_on_map

# The picker's query field: named apart from features, which are lower-case words.
MOVE_TO = "move_to"
# Changes smaller than this (in a feature's own units) are rounding, not a change to show.
SHOWN_CHANGE = 1e-9


def _signed(value: float) -> str:
    """+28, -3.5, +1,204.25: the change as the model rounded it (to its feature's step), grouped, always a sign."""
    # Fifteen significant digits show a rounded change whole and drop the float's last-bit noise.
    return f"{value:+,.15g}"


def change_texts(model: SegmentationModel, changes: Mapping[str, float]) -> list[str]:
    """ "+28 spending score", "-3.5 annual income (k$)": one line per feature that moves, in model order."""
    lines = []
    for spec in model.feature_specs:
        change = changes[spec.name]
        if abs(change) <= SHOWN_CHANGE:
            continue
        # "Annual Income (k$)" -> "annual income", but "NPS score" keeps its capitals.
        words = spec.label.split(" (")[0].split()
        name = " ".join(word.lower() if word[1:].islower() or len(word) == 1 else word for word in words)
        unit = f" ({spec.short_unit})" if spec.short_unit else ""
        lines.append(f"{_signed(change)} {name}{unit}")
    return lines


def counterfactual_section(
    model: SegmentationModel,
    customer: Mapping[str, float],
    values: Mapping[str, str | None],
    carry: Mapping[str, str],
    chart: dict[str, Any] | None,
    current_id: int,
) -> dict[str, Any]:
    """The picker (keeping the customer, segmentation and map view), and the answer when a segment was picked."""
    picked = (values.get(MOVE_TO) or "").strip()
    section: dict[str, Any] = {
        "options": [{"id": segment.segment_id, "name": segment.name} for segment in model.segments],
        "picked": picked,
        "carry": dict(carry),
        "answer": None,
        "error": None,
        "path": None,
    }
    if not picked:
        return section
    try:
        answer = counterfactual_answer(model=model, values=customer, target=picked[:100], immutable=[], weights={})
    except SegmentationError as exc:
        section["error"] = exc.message
        return section
    answer["already"] = answer["target_segment"]["segment_id"] == current_id
    answer["lines"] = change_texts(model, answer["changes"]) if answer["reachable"] else []
    section["answer"] = answer
    if chart and answer["reachable"] and not answer["already"]:
        start = place_on_map(chart, model, customer)
        end = place_on_map(chart, model, answer["target_point"])
        section["path"] = {"x1": start["x"], "y1": start["y"], "x2": end["x"], "y2": end["y"]}
    return section
