"""Creating a segmentation with its first version: what its job would certainly fail on is refused first."""

from pathlib import Path

import pytest

from app.core.errors import InvalidDataset, VersionConflict
from app.models.segmentations.spec import SegmentationSpec
from app.services.segmentation_setup import check_trainable
from app.services.training.store import JobStore

SPEC = SegmentationSpec.from_dict(
    {"name": "shop", "features": [{"name": "spend", "column": "Spend"}, {"name": "visits", "column": "Visits"}]}
)


def _file(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "shop.csv"
    path.write_text("Spend,Visits\n" + "".join(f"{100 + row * 13},{row % 5 + 1}\n" for row in range(rows)))
    return path


def test_a_file_with_enough_rows_for_k_passes(make_settings, tmp_path):
    check_trainable(spec=SPEC, upload=_file(tmp_path, 12), k="auto", settings=make_settings(jobs_dir=tmp_path / "j"))


@pytest.mark.parametrize(("k", "needed"), [("auto", 11), ("6", 7)])
def test_fewer_usable_rows_than_k_plus_one_is_refused(make_settings, tmp_path, k, needed):
    with pytest.raises(InvalidDataset, match=f"only 5 usable row\\(s\\) of 5, .* at least {needed}"):
        check_trainable(spec=SPEC, upload=_file(tmp_path, 5), k=k, settings=make_settings(jobs_dir=tmp_path / "j"))


def test_a_full_set_of_running_jobs_is_refused(make_settings, tmp_path):
    settings = make_settings(jobs_dir=tmp_path / "jobs", train_max_concurrent_jobs=1)
    JobStore(settings.job_root).create({"segmentation": "default", "k": 5})
    with pytest.raises(VersionConflict, match="already running"):
        check_trainable(spec=SPEC, upload=_file(tmp_path, 12), k="3", settings=settings)
