"""Creating a segmentation with its first version: what its job would certainly fail on is refused first."""

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.config import Settings
from app.core.errors import InvalidDataset, VersionConflict
from app.models.rfm.build import build_rfm
from app.models.segmentations.catalog import SegmentationCatalog
from app.models.segmentations.registries import Segmentations
from app.models.segmentations.spec import SegmentationSpec
from app.models.synthetic_transactions import write_transactions
from app.models.versions.registry import ModelRegistry
from app.models.versions.store import VersionStore
from app.services.segmentation_setup import check_trainable, create_and_train
from app.services.training import launch
from app.services.training.runner import JobRunner
from app.services.training.store import BUILT_FOLDER, JobStore, read_job

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


class _ParkedProcess:
    """Stands in for the trainer's process: the test runs the job in-process instead; this one waits for it."""

    pid = 0

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def wait(self) -> int:
        _done.wait()
        return 0


_done = threading.Event()


@pytest.fixture
def rfm_setup(make_settings, fresh_dir, tmp_path, monkeypatch) -> Iterator[tuple[Settings, Segmentations, list[int]]]:
    """Settings and segmentations on a private versions folder, jobs parked, and a count of RFM builds."""
    from app.models.rfm import build

    _done.clear()
    monkeypatch.setattr(launch.subprocess, "Popen", _ParkedProcess)
    builds: list[int] = []
    build_rfm = build.build_rfm

    def counted(*args: Any, **kwargs: Any) -> Any:
        builds.append(1)
        return build_rfm(*args, **kwargs)

    monkeypatch.setattr(build, "build_rfm", counted)
    settings = make_settings(model_dir=fresh_dir, jobs_dir=tmp_path / "jobs")
    segmentations = Segmentations(SegmentationCatalog(fresh_dir), ModelRegistry(VersionStore(fresh_dir)).load())
    yield settings, segmentations, builds
    _done.set()


def _pending(tmp_path: Path, data: bytes) -> Path:
    """An upload kept in its own folder, as the /models page keeps one between its two steps."""
    folder = tmp_path / "pending" / "token"
    folder.mkdir(parents=True)
    upload = folder / "data.csv"
    upload.write_bytes(data)
    return upload


def test_an_rfm_segmentation_builds_its_customer_table_once(rfm_setup, tmp_path):
    settings, segmentations, builds = rfm_setup
    source, _ = write_transactions(tmp_path / "t.csv", customers=60, seed=5)
    upload = _pending(tmp_path, source.read_bytes())
    started = create_and_train(
        segmentations=segmentations, settings=settings, body={"name": "buyers", "kind": "rfm"}, upload=upload,
        upload_name="t.csv", k="3", key_id="",
    )  # fmt: skip
    assert builds == [1]  # the check's
    folder = JobStore(settings.job_root).folder(started["job_id"])
    assert JobRunner(folder, settings=settings).run() == 0
    assert builds == [1]  # the job trained on the check's table
    assert list(upload.parent.iterdir()) == []  # the upload and the table went into the job, nothing left behind
    active = ModelRegistry(VersionStore(SegmentationCatalog(settings.model_dir).folder("buyers"))).load().active
    assert active.version == read_job(folder)["version"]
    assert active.info["rfm_summary"] == build_rfm(source).summary
    assert not (folder / BUILT_FOLDER).exists()


def test_an_rfm_file_too_small_is_refused_and_leaves_nothing(rfm_setup, tmp_path):
    settings, segmentations, _ = rfm_setup
    source, _ = write_transactions(tmp_path / "t.csv", customers=5, seed=5)
    upload = _pending(tmp_path, source.read_bytes())
    with pytest.raises(InvalidDataset, match="only 5 usable customer\\(s\\) in"):
        create_and_train(
            segmentations=segmentations, settings=settings, body={"name": "few", "kind": "rfm"}, upload=upload,
            upload_name="t.csv", k="auto", key_id="",
        )  # fmt: skip
    assert list(upload.parent.iterdir()) == [upload]  # the upload kept for another try; no table left
    assert "few" not in segmentations.names()
    assert not settings.job_root.exists() or not any(settings.job_root.iterdir())
