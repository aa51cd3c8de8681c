"""A new `columns` segmentation and its first version from one file: created, then trained, or neither."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.core.config import Settings
from app.core.errors import SegmentationError
from app.models.segmentations.registries import Segmentations
from app.services.segmentations import create_segmentation, delete_segmentation
from app.services.training.launch import start_training_job


def create_and_train(
    *,
    segmentations: Segmentations,
    settings: Settings,
    body: Mapping[str, Any],
    upload: Path,
    upload_name: str,
    k: str,
    key_id: str,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Create the segmentation and start training its first version on `upload` (moved into the job).

    When the training job cannot start (its columns are not in the file, too many jobs), the segmentation is
    deleted again: nothing is half-created. Returns the created segmentation and the job id.
    """
    created = create_segmentation(segmentations=segmentations, body=body)
    try:
        job_id = start_training_job(
            settings=settings,
            upload=upload,
            k=k,
            features="",
            seed=42,
            activate=True,
            key=key_id,
            request_id=request_id,
            upload_name=upload_name,
            segmentation=created["name"],
        )
    except SegmentationError:
        delete_segmentation(segmentations=segmentations, name=created["name"], force=True)
        raise
    return {"segmentation": created, "job_id": job_id}
