"""A new segmentation (`columns` or `rfm`) and its first version from one file: created, then trained, or neither."""

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.core.config import Settings
from app.core.errors import InvalidDataset, VersionConflict
from app.models.clustering import DEFAULT_K, K_RANGE
from app.models.segmentations.registries import Segmentations
from app.models.segmentations.spec import SegmentationSpec
from app.services.segmentations import create_segmentation, delete_segmentation
from app.services.training.launch import parse_k, start_training_job
from app.services.training.store import JobStore


def _usable_customers(spec: SegmentationSpec, upload: Path, settings: Settings, built: Path | None) -> tuple[int, str]:
    """The customers training would have from the file, and how to name them against what was read."""
    if spec.kind == "rfm":
        from app.models.segmentations.training import build_customers_into  # as the job would build it

        if built is not None:
            summary = build_customers_into(upload, built, options=spec.rfm)
        else:
            with tempfile.TemporaryDirectory(prefix=".rfm-check-", dir=upload.parent) as work:
                summary = build_customers_into(upload, Path(work), options=spec.rfm)
        return summary["customers"], f"customer(s) in {summary['rows_read']:,} transaction lines"
    from app.models.dataset import clean_customers, load_customers  # pandas: only when a segmentation is created

    table = load_customers(upload)
    if table.n_records > settings.train_max_rows:
        raise InvalidDataset(
            f"the file has {table.n_records:,} rows, more than the limit of {settings.train_max_rows:,}"
        )
    # The fewest rows any k needs first: its message says what was dropped, and why when it is a unit mix-up.
    usable = len(clean_customers(table, features=list(spec.features), min_rows=K_RANGE.start + 1).frame)
    return usable, f"row(s) of {table.n_records}"


def check_trainable(
    *, spec: SegmentationSpec, upload: Path, k: str, settings: Settings, built: Path | None = None
) -> None:
    """Refuse now what the first training job would certainly fail on, so that nothing is created for it.

    The kept file is read and cleaned as training reads it: a chosen column with no numbers, or fewer usable
    rows than k + 1 (11 for k 'auto', whose sweep goes to 10), is an InvalidDataset naming it. A full set of
    running jobs is a VersionConflict. An RFM file's customer table is built into `built` when given (for the job
    to train on), else into a folder removed at once.
    """
    chosen = parse_k(k or str(DEFAULT_K))
    usable, records = _usable_customers(spec, upload, settings, built)
    max_k = K_RANGE.stop - 1 if chosen == "auto" else chosen
    if usable < max_k + 1:
        wanted = f"k 'auto' (which tries up to {max_k} segments)" if chosen == "auto" else f"k = {max_k}"
        raise InvalidDataset(
            f"only {usable} usable {records}, and {wanted} needs at least {max_k + 1}: "
            f"choose at most {usable - 1} segments, or a file with more customers"
        )
    limit = settings.train_max_concurrent_jobs
    if JobStore(settings.job_root).running() >= limit:
        raise VersionConflict(f"{limit} training job(s) already running: wait for one to finish, then create it")


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

    What the job would certainly fail on (see check_trainable) is refused before anything is created; when the
    job still cannot start (another started meanwhile, a full disk, no process), the segmentation is deleted again
    and the upload is back in place: nothing is half-created.
    Returns the created segmentation and the job id. An RFM file's customer table is built once: the check's is
    moved into the job, which trains on it; whatever happens before, it is removed with the check's folder.
    """
    spec = SegmentationSpec.from_request(dict(body))
    with tempfile.TemporaryDirectory(prefix=".rfm-check-", dir=upload.parent) as work:
        built = Path(work) / "customers" if spec.kind == "rfm" else None
        if built is not None:
            built.mkdir()
        check_trainable(spec=spec, upload=upload, k=k, settings=settings, built=built)
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
                origin="page",  # the /models page's new-segmentation form is its only caller
                built=built,
            )
        except Exception:
            # Whatever stopped it (a job started meanwhile, a full disk, no process): the job gave back its slot and
            # the upload, so deleting the segmentation leaves nothing, and the same request can be sent again.
            delete_segmentation(segmentations=segmentations, name=created["name"], force=True)
            raise
    return {"segmentation": created, "job_id": job_id}
