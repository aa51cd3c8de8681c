"""HTTP predict on a 3-feature segmentation against HTTP predict on `default`, on the same live server."""

import json
from pathlib import Path

from app.models.segmentations.catalog import SegmentationCatalog
from app.models.segmentations.spec import SegmentationSpec
from app.models.segmentations.training import train_segmentation
from app.models.synthetic_crm import write_crm

LOYALTY = {
    "name": "loyalty",
    "kind": "columns",
    "features": [
        {"name": "income", "column": "Income", "label": "Income", "unit": "$", "transform": "log1p"},
        {"name": "visits", "column": "Visits", "label": "Visits", "unit": "visits", "transform": "log1p"},
        {"name": "tenure", "column": "Tenure", "label": "Tenure", "unit": "years"},
    ],
}
DEFAULT_BODY = json.dumps({"annual_income": 60, "spending_score": 50}).encode()
LOYALTY_BODY = json.dumps({"features": {"income": 58_000, "visits": 6, "tenure": 4}}).encode()


def add_loyalty(model_dir: Path, workdir: Path) -> None:
    """Create and train the 3-feature segmentation beside the default model."""
    spec = SegmentationCatalog(model_dir).create(SegmentationSpec.from_dict(LOYALTY))
    train_segmentation(spec, write_crm(workdir / "crm.csv"), models_root=model_dir, k=3)
