"""What several pages share: each segment's look and the segment map, built once per model (and map view)."""

from functools import lru_cache
from typing import Any

from app.models.model import SegmentationModel
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
