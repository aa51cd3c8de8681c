"""Train a version of any segmentation: `default` as always, `columns` by its spec, `rfm` from transactions."""

import functools
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.errors import SegmentationConflict
from app.models.segmentations.catalog import SegmentationCatalog
from app.models.segmentations.spec import DEFAULT_NAME, RfmOptions, SegmentationSpec
from app.utils.files import atomic_replace

if TYPE_CHECKING:
    from app.models.rfm.build import Progress
    from app.models.training import TrainingResult

# An RFM job builds its customer table in a ".rfm-*" folder beside the versions (same disk as the model). A job
# killed outright leaves it behind; one older than this belongs to no live job (jobs are stopped far sooner, at
# TRAIN_TIME_LIMIT_SECONDS), so the next RFM job removes it.
RFM_WORK_PREFIX = ".rfm-"
STALE_WORK_SECONDS = 24 * 3600
# A customer table built ahead of its job (by the check of the request that started it) is a folder holding the
# table and its summary. The summary is written last, and the folder reaches the job by one rename: a job finds
# both or neither, never a table cut short.
BUILT_TABLE = "customers.csv"
BUILT_SUMMARY = "summary.json"


def build_customers_into(
    data_path: str | Path, folder: Path, *, options: RfmOptions, progress: "Progress | None" = None
) -> dict[str, Any]:
    """Build a transactions file's customer table into `folder` (BUILT_TABLE, then its summary); the summary."""
    from app.models.rfm.build import build_customer_table  # RFM only: the transactions reader

    summary = build_customer_table(data_path, folder / BUILT_TABLE, options=options, progress=progress).summary
    with atomic_replace(folder / BUILT_SUMMARY) as sink:
        sink.write(json.dumps({"rfm_options": options.to_dict(), "summary": summary}).encode())
    return summary


def built_summary(folder: Path, options: RfmOptions) -> dict[str, Any] | None:
    """The summary of the customer table built into `folder` with `options`; None when no whole one is there."""
    try:
        built = json.loads((folder / BUILT_SUMMARY).read_bytes())
    except (OSError, ValueError):
        return None
    # Built by other rules (a segmentation replaced under the same name meanwhile): not this version's table.
    if built.get("rfm_options") != options.to_dict() or not (folder / BUILT_TABLE).is_file():
        return None
    return built["summary"]


def train_segmentation(
    spec: SegmentationSpec,
    data_path: str | Path,
    *,
    models_root: str | Path,
    built: Path | None = None,
    **options: Any,
) -> "TrainingResult":
    """Train a new version of `spec` from a file; `options` are train()'s (k, seed, activate, signing key, ...).

    With a Dask `client` in `options`, the version trains on that cluster (app/models/dask_training.py). For an
    RFM segmentation, `built` is a folder where the customer table of this very file was built already (see
    build_customers_into): trained on as it is, not built again; without a whole one there, it is built.
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
    progress = options.get("progress")

    def reading(done: int, total: int) -> None:
        if progress is not None:
            progress({"stage": "building_rfm", "bytes_read": done, "of": total})

    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_work(folder)
    with tempfile.TemporaryDirectory(prefix=RFM_WORK_PREFIX, dir=folder) as work:
        summary = None if built is None else built_summary(built, spec.rfm)
        if built is None or summary is None:
            built = Path(work)
            summary = build_customers_into(data_path, built, options=spec.rfm, progress=reading)
        return train(
            built / BUILT_TABLE,
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
