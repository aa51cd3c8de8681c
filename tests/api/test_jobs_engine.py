"""The training job's `engine` field: `local` by default, `dask` trains the upload on a Dask cluster."""

import sys
import time

import pytest

from app.models.synthetic import write_customers
from app.models.versions.store import VersionStore
from app.services.training.store import JobStore, read_job

KEY = "engine-admin-key"
ADMIN = {"X-API-Key": KEY}


@pytest.fixture
def admin(client_for, fresh_dir):
    return client_for(model_dir=fresh_dir, admin_api_keys=[KEY])


def _wait(client, job_id: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/api/v1/jobs/{job_id}").json()
        if body["state"] in ("succeeded", "failed"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.3)


def test_an_unknown_engine_is_refused_naming_the_field(admin):
    response = admin.post("/api/v1/models", data={"engine": "spark"}, headers=ADMIN)
    assert response.status_code == 422
    assert "engine" in response.text and "'local' or 'dask'" in response.text
    assert admin.get("/api/v1/jobs", headers=ADMIN).json()["jobs"] == []


@pytest.mark.slow
def test_a_dask_job_trains_the_upload_on_a_cluster(admin, fresh_dir, tmp_path):
    data = write_customers(tmp_path / "mine.csv", rows=400, seed=3)
    with data.open("rb") as handle:
        response = admin.post(
            "/api/v1/models",
            files={"file": ("mine.csv", handle, "text/csv")},
            data={"k": "5", "engine": "dask"},
            headers=ADMIN,
        )
    assert response.status_code == 202, response.text
    job = _wait(admin, response.json()["job_id"])
    assert job["state"] == "succeeded", job
    assert job["progress"]["stage"] == "saving" and job["progress"]["iteration"] >= 1
    info = VersionStore(fresh_dir).load(job["version"]).info
    assert info["engine"] == "dask" and info["n_samples"] == 400 and info["data_file"] == "mine.csv"
    folder = JobStore(admin.app.state.settings.job_root).folder(job["job_id"])
    assert read_job(folder)["params"]["engine"] == "dask"


def test_a_dask_job_without_dask_installed_is_refused_at_submission(admin, tmp_path, monkeypatch):
    data = write_customers(tmp_path / "mine.csv", rows=50, seed=3)
    monkeypatch.setitem(sys.modules, "distributed", None)  # as after `bash setup.sh run`
    with data.open("rb") as handle:
        response = admin.post(
            "/api/v1/models", files={"file": ("mine.csv", handle, "text/csv")}, data={"engine": "dask"}, headers=ADMIN
        )
    assert response.status_code == 422
    assert "the Dask engine is not installed" in response.json()["message"]
    assert "pip install -r requirements-dask.txt" in response.json()["message"]
    assert admin.get("/api/v1/jobs", headers=ADMIN).json()["jobs"] == []
