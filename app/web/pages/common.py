"""What several pages share: each segment's look and the segment map, built once per model (and map view),
and the header's segmentation picker."""

from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

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
