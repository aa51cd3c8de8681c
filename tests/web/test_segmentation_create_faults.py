"""Creating a segmentation on /models when its first job cannot start after the upload was moved into it: nothing is
left behind (no segmentation, no job, the kept file back in place), the page says why, and sending it again works."""

import errno
import os
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.models.synthetic_crm import write_crm
from app.models.synthetic_transactions import write_transactions
from app.services.training import launch
from app.services.training.store import BUILT_FOLDER
from app.web import pending_uploads
from tests.trainers import refuse_trainers
from tests.web.test_segmentation_pages import HTML, KEY, choose_columns, create

ADMIN = {"X-API-Key": KEY}


@pytest.fixture
def pages(client_for, fresh_dir: Path, tmp_path: Path) -> TestClient:
    """A client with the admin key, its own models folder, and its jobs and kept uploads under tmp_path/jobs."""
    return client_for(model_dir=fresh_dir, admin_api_keys=[KEY], jobs_dir=tmp_path / "jobs")


class Fault:
    """A fault switched on for the first request and off for the resend."""

    def __init__(self) -> None:
        self.on = True


def _kept(tmp_path: Path) -> dict[str, bytes]:
    """The files of the /models page's kept uploads (the upload and what is known of it), by name."""
    root = pending_uploads.root_of(tmp_path / "jobs")
    return {str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def _nothing_left(client: TestClient, name: str) -> None:
    """No segmentation `name`, and no job, queued or otherwise."""
    assert client.get(f"/api/v1/segmentations/{name}", headers=HTML | ADMIN).status_code == 404
    assert client.get("/api/v1/jobs", headers=ADMIN).json()["jobs"] == []


def test_a_full_disk_moving_the_rfm_table_in_leaves_nothing_and_the_resend_succeeds(
    pages, ended_trainers, monkeypatch, tmp_path
):
    transactions, _ = write_transactions(tmp_path / "transactions.csv", customers=120, seed=3)
    _, page = choose_columns(pages, transactions.read_bytes())
    form = re.search(r'<form id="rfm-create-form".*?</form>', page, re.S).group(0)
    fault, replace = Fault(), os.replace

    def full_after_the_upload(source, target):
        # The upload is moved in first: the customer table's rename is the one that finds the disk full.
        if fault.on and Path(target).name == BUILT_FOLDER:
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        return replace(source, target)

    monkeypatch.setattr(launch.os, "replace", full_after_the_upload)
    kept = _kept(tmp_path)

    refused = create(pages, form, kind="rfm", name="buyers", k="4")

    assert refused.status_code == 503, refused.text
    assert "cannot write its files" in refused.text
    _nothing_left(pages, "buyers")
    assert _kept(tmp_path) == kept  # the upload is back where the form's resend finds it
    assert ended_trainers == []
    fault.on = False
    resent = create(pages, form, kind="rfm", name="buyers", k="4")
    assert resent.status_code == 303, resent.text
    assert pages.get("/api/v1/segmentations/buyers").status_code == 200
    assert len(ended_trainers) == 1


def test_a_trainer_process_that_cannot_start_leaves_nothing_and_the_resend_succeeds(
    pages, ended_trainers, monkeypatch, tmp_path
):
    _, page = choose_columns(pages, write_crm(tmp_path / "crm.csv").read_bytes())
    fault = refuse_trainers(monkeypatch)
    kept = _kept(tmp_path)

    refused = create(pages, page, name="crm", k="3", use_1="true", use_2="true")

    assert refused.status_code == 503, refused.text
    assert "cannot start a training process" in refused.text and "Traceback" not in refused.text
    _nothing_left(pages, "crm")
    assert _kept(tmp_path) == kept
    fault.clear()
    resent = create(pages, page, name="crm", k="3", use_1="true", use_2="true")
    assert resent.status_code == 303, resent.text
    assert pages.get("/api/v1/segmentations/crm").status_code == 200
    assert len(ended_trainers) == 1
