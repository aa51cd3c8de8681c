"""What several pages share: each segment's look and the segment map, built once per model (and map view),
the header's segmentation picker and the footer's line on the model."""

from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from app.models.features import DEFAULT_FEATURES
from app.models.model import SegmentationModel
from app.models.segmentations.spec import DEFAULT_NAME
from app.web.charts.segment_map import View, segment_map
from app.web.charts.styles import segment_styles


@lru_cache(maxsize=16)
def segment_context(model: SegmentationModel, view: View | None = None) -> dict[str, Any]:
    """Colours, shapes and map geometry: fixed for a model and a view, so built once (a map takes ~10 ms) and shared."""
    styles = segment_styles(model)
    return {
        "styles": {style.segment_id: style for style in styles},
        "styles_json": {str(s.segment_id): {"colour": s.colour, "path": s.path, "shape": s.shape} for s in styles},
        "segment_map": segment_map(model, view),
    }


def segmentation_picker(names: list[str], current: str) -> dict[str, Any]:
    """The header's segmentation picker: every segmentation, the page's own, and the query its links carry.

    The default segmentation's links carry nothing, so they read exactly as before segmentations existed.
    """
    chosen = current if current in names else DEFAULT_NAME
    return {
        "picker": {"names": names, "current": chosen, "shown": len(names) > 1},
        "segmentation": chosen,
        "segmentation_query": "" if chosen == DEFAULT_NAME else "?" + urlencode({"segmentation": chosen}),
    }


# The footer's line when no model is served (and on error pages, which know no segmentation).
GENERIC_MODEL_LINE = "KMeans clustering"


def _title_word(word: str) -> bool:
    """A capital then lower-case letters ("Income"); a word that starts otherwise ("(k$)", "1-100") does not count."""
    return word[:1].isupper() and (word[1:].islower() or not word[1:])


def _in_sentence(label: str) -> str:
    """A label inside a sentence: "Recency" -> "recency", "Annual Income" -> "annual income" (a column heading in
    Title Case is no proper noun), but "NPS score" and "Visits in Berlin" keep their capitals after the first word."""
    words = label.split(" ")
    lettered = [word for word in words if word[:1].isalpha()]
    if len(lettered) > 1 and all(_title_word(word) for word in lettered):
        return " ".join(word.lower() if _title_word(word) else word for word in words)
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def model_line(model: SegmentationModel | None) -> str:
    """The footer's few words on what segments the page's customers: KMeans on the served version's features."""
    if model is None:
        return GENERIC_MODEL_LINE
    if model.features == list(DEFAULT_FEATURES):
        return "KMeans on income and spending"
    labels = [_in_sentence(spec.label) for spec in model.feature_specs]
    listed = labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"
    return f"KMeans on {listed}"
