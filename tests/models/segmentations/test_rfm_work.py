import os
import time

from app.models.segmentations.spec import RfmOptions
from app.models.segmentations.training import (
    BUILT_TABLE,
    STALE_WORK_SECONDS,
    build_customers_into,
    built_summary,
    remove_stale_work,
)
from app.models.synthetic_transactions import write_transactions


def test_a_killed_jobs_rfm_work_folder_is_removed_and_a_live_one_kept(tmp_path):
    stale, live = tmp_path / ".rfm-killed", tmp_path / ".rfm-running"
    for work in (stale, live):
        work.mkdir()
        (work / "customers.csv").write_text("id\n1\n")
    old = time.time() - STALE_WORK_SECONDS - 60
    os.utime(stale, (old, old))
    version = tmp_path / "20261206.000000.000000-abc"
    version.mkdir()
    os.utime(version, (old, old))

    assert remove_stale_work(tmp_path) == [".rfm-killed"]
    assert not stale.exists()
    assert (live / "customers.csv").exists()
    assert version.exists()  # only the RFM work folders are touched


def test_a_built_table_is_used_only_when_whole_and_built_by_the_same_rules(tmp_path):
    source, _ = write_transactions(tmp_path / "t.csv", customers=30, seed=1)
    built = tmp_path / "built"
    built.mkdir()
    summary = build_customers_into(source, built, options=RfmOptions())
    assert built_summary(built, RfmOptions()) == summary
    assert built_summary(built, RfmOptions.from_dict({"monetary": "average"})) is None  # other rules: rebuilt
    (built / BUILT_TABLE).unlink()
    assert built_summary(built, RfmOptions()) is None  # no table: rebuilt
