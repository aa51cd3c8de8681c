"""A full disk while a training job writes its version: the job fails in one line, nothing is left half written,
the active model keeps serving, and training works again once space is freed. A full disk under a file being
scored: a 503 in one line, and neither the upload nor a labelled file is left behind."""

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.models.versions.store import VersionStore
from app.services.training.store import FINAL_STATES
from tests.live_server import wait_for
from tests.small_disk import NoSmallDisk, fill, fill_for_a_failing_save, small_disk
from tests.tools import unavailable
from tests.web.test_score_page import post_file

pytestmark = pytest.mark.slow

KEY = "disk-admin-key-0123"
ADMIN = {"X-API-Key": KEY}
FULL_DISK_ERROR = (
    "no space left on the model folder 'models_artifacts', so no version was added; free some space and train again"
)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs, mounted for the test."""
    try:
        with small_disk(tmp_path / "disk", 4 * 1024 * 1024) as folder:
            yield folder
    except NoSmallDisk as exc:
        unavailable(f"cannot simulate a full disk: {exc}")


def _train(client) -> dict:
    """Start a training job (activating its version) and wait, bounded, until it has finished."""
    response = client.post("/api/v1/models", data={"activate": "true"}, headers=ADMIN)
    assert response.status_code == 202, response.text
    url = f"/api/v1/jobs/{response.json()['job_id']}"
    job: dict = {}

    def finished() -> bool:
        job.update(client.get(url).json())
        return job["state"] in FINAL_STATES

    assert wait_for(finished, 180) is not None, job
    return job


def test_a_full_disk_fails_the_job_in_one_line_and_the_active_model_keeps_serving(client_for, model_dir, disk):
    root = disk / "models_artifacts"
    shutil.copytree(model_dir, root)
    client = client_for(model_dir=root, admin_api_keys=[KEY])
    store = VersionStore(root)
    versions, active = store.versions(), store.active_version()
    filler = fill_for_a_failing_save(disk, root / active)

    job = _train(client)

    assert job["state"] == "failed", job
    assert job["error"] == FULL_DISK_ERROR
    assert job["progress"]["stage"] == "saving"
    assert store.versions() == versions and store.active_version() == active
    assert [path.name for path in root.iterdir() if path.name.startswith(".staging-")] == []
    job_log = (root / ".jobs" / job["job_id"] / "log.txt").read_text()
    assert "Traceback" not in job_log
    assert f"no space left on the model folder '{root}'" in job_log  # the client is told its name, the log its path
    assert client.get("/readyz").status_code == 200
    predicted = client.post("/api/v1/predict", json={"annual_income": 60, "spending_score": 50})
    assert predicted.status_code == 200
    assert predicted.json()["model_version"] == active

    filler.unlink()
    again = _train(client)

    assert again["state"] == "succeeded", again
    assert store.versions() == sorted([*versions, again["version"]])
    assert store.active_version() == again["version"]


def test_a_disk_already_full_refuses_the_job_with_a_503_and_leaves_no_upload(client_for, model_dir, disk):
    root = disk / "models_artifacts"
    shutil.copytree(model_dir, root)
    client = client_for(model_dir=root, admin_api_keys=[KEY])
    fill(disk, leave=0)

    response = client.post(
        "/api/v1/models",
        files={"file": ("customers.csv", b"Annual Income (k$),Spending Score (1-100)\n" * 5000)},
        headers=ADMIN,
    )

    assert response.status_code == 503, response.text
    assert response.json()["message"] == (
        "no space left for training jobs in '.jobs', so no job was started; free some space and try again"
    )
    assert [path.name for path in (root / ".jobs").iterdir() if path.name.startswith(".upload-")] == []


CUSTOMERS = "customer_id,annual_income,spending_score\n" + "".join(
    f"c{index},{15 + index % 100},{1 + index % 99}\n" for index in range(20_000)
)


@pytest.mark.parametrize(
    ("room", "words"),
    [(0, "no space left on the server to receive the file"), (600_000, "no space left on the server for the")],
    ids=["for the upload", "for the labelled file"],
)
def test_a_full_disk_under_file_scoring_is_a_503_that_leaves_nothing(client, disk, monkeypatch, room, words):
    monkeypatch.setattr(tempfile, "tempdir", str(disk))  # uploads and scored files spool to the temporary folder
    filler = fill(disk, leave=room)
    upload = CUSTOMERS.encode()
    assert len(upload) < room or room == 0  # the upload fits; its labelled copy (three times longer) does not

    for request in (
        {"content": upload, "headers": {"content-type": "text/csv"}},
        {"files": {"file": ("customers.csv", upload, "text/csv")}},
    ):
        response = client.post("/api/v1/predict/csv", **request)
        assert response.status_code == 503, response.text
        assert response.json()["type"] == "storage_full"
        assert response.json()["message"].startswith(words)
        assert sorted(path.name for path in disk.iterdir()) == ["filler"]

    filler.unlink()
    assert client.post("/api/v1/predict/csv", content=upload, headers={"content-type": "text/csv"}).status_code == 200


@pytest.mark.parametrize("folder_exists", [True, False], ids=["results folder there", "results folder to create"])
def test_a_full_disk_under_the_score_page_shows_a_message_and_keeps_no_file(client_for, disk, folder_exists):
    results = disk / "results"
    client = client_for(score_results_dir=results)
    if folder_exists:
        results.mkdir(exist_ok=True)
    filler = fill(disk, leave=0)

    # Any Accept header: the page answers with its HTML error page, never the API's JSON.
    page = post_file(client, CUSTOMERS.encode(), "customers.csv", headers={"Accept": "*/*"})

    assert page.status_code == 503, page.text[:300]
    assert "no space left to keep this file, so nothing was kept" in page.text and "Traceback" not in page.text
    assert ">No space left</h1>" in page.text
    assert sorted(path.name for path in disk.rglob("*") if path.is_file()) == ["filler"]
    filler.unlink()
