"""Train a version of any segmentation: `default` as always, `columns` by its spec, `rfm` from transactions."""

import functools
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.errors import SegmentationConflict
from app.models.segmentations.catalog import SegmentationCatalog
from app.models.segmentations.spec import DEFAULT_NAME, SegmentationSpec

if TYPE_CHECKING:
    from app.models.training import TrainingResult

# An RFM job builds its customer table in a ".rfm-*" folder beside the versions (same disk as the model). A job
# killed outright leaves it behind; one older than this belongs to no live job (jobs are stopped far sooner, at
# TRAIN_TIME_LIMIT_SECONDS), so the next RFM job removes it.
RFM_WORK_PREFIX = ".rfm-"
STALE_WORK_SECONDS = 24 * 3600


def train_segmentation(
    spec: SegmentationSpec, data_path: str | Path, *, models_root: str | Path, **options: Any
) -> "TrainingResult":
    """Train a new version of `spec` from a file; `options` are train()'s (k, seed, activate, signing key, ...).

    With a Dask `client` in `options`, the version trains on that cluster (app/models/dask_training.py).
    """
    # Imported when called: a job's process records that it runs before pandas and scikit-learn load.
    client = options.pop("client", None)
    if client is not None:
        from app.models.dask_training import train_dask

        train = functools.partial(train_dask, client=client)
    else:
        from app.models.training import train

    catalog = SegmentationCatalog(Path(models_root))
    folder = catalog.folder(spec.name)
    if spec.name == DEFAULT_NAME:
        return train(data_path, output_dir=folder, **options)
    options.pop("features", None)  # a segmentation's features are its spec's
    tag = {"segmentation": spec.name, "kind": spec.kind}

    def still_the_same() -> None:
        # Deleted (or deleted and created again) while this version trained: it belongs to no segmentation now.
        if catalog.get(spec.name).created_at != spec.created_at:
            raise SegmentationConflict(f"segmentation {spec.name!r} was replaced while this version trained")

    options["before_save"] = still_the_same
    if spec.kind != "rfm":
        return train(data_path, output_dir=folder, specs=list(spec.features), extra_info=tag, **options)
    from app.models.rfm.build import build_customer_table  # RFM only: the transactions reader

    progress = options.get("progress")

    def reading(done: int, total: int) -> None:
        if progress is not None:
            progress({"stage": "building_rfm", "bytes_read": done, "of": total})

    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_work(folder)
    with tempfile.TemporaryDirectory(prefix=RFM_WORK_PREFIX, dir=folder) as work:
        table_path = Path(work) / "customers.csv"
        summary = build_customer_table(data_path, table_path, options=spec.rfm, progress=reading).summary
        return train(
            table_path,
            output_dir=folder,
            specs=list(spec.features),
            extra_info={**tag, "rfm_options": spec.rfm.to_dict(), "rfm_summary": summary},
            vocabulary="rfm",
            data_name=options.pop("data_name", None) or Path(data_path).name,
            **options,
        )


def remove_stale_work(folder: Path, *, now: float | None = None) -> list[str]:
    """Remove the RFM work folders a killed job left in `folder` (older than STALE_WORK_SECONDS); their names."""
    cutoff = (time.time() if now is None else now) - STALE_WORK_SECONDS
    removed = []
    for work in folder.glob(f"{RFM_WORK_PREFIX}*"):
        try:
            if work.is_dir() and work.stat().st_mtime < cutoff:
                shutil.rmtree(work, ignore_errors=True)
                removed.append(work.name)
        except OSError:
            continue  # removed by another job meanwhile
    return removed
