import os
import time

from app.models.segmentations.training import STALE_WORK_SECONDS, remove_stale_work


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
