"""Training jobs from the API: a separate process, state on disk, clear 4xx for bad uploads, kill -9 is harmless."""

import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from app.models.store import VersionStore
from app.models.synthetic import write_customers

KEY = "jobs-admin-key"
ADMIN = {"X-API-Key": KEY}


@pytest.fixture
def root(model_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "models_artifacts"
    shutil.copytree(model_dir, copy)
    return copy


@pytest.fixture
def admin(client_for, root):
    return client_for(model_dir=root, admin_api_keys=[KEY], train_max_upload_bytes=200_000_000)


def _wait(client, job_id: str, states=("succeeded", "failed"), timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/api/v1/jobs/{job_id}").json()
        if body["state"] in states:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.2)


@pytest.mark.slow
def test_uploaded_csv_becomes_a_new_version(admin, root, tmp_path):
    before = VersionStore(root).active_version()
    data = write_customers(tmp_path / "mine.csv", rows=400, seed=3)
    with data.open("rb") as handle:
        response = admin.post(
            "/api/v1/models",
            files={"file": ("mine.csv", handle, "text/csv")},
            data={"k": "5", "seed": "1", "activate": "false"},
            headers=ADMIN,
        )
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    assert response.headers["location"] == f"/api/v1/jobs/{job_id}"
    job = _wait(admin, job_id)
    assert job["state"] == "succeeded", job
    assert job["progress"]["rows_read"] == 400 and job["progress"]["of"] == 9
    assert job["version"] in VersionStore(root).versions() and job["activated"] is False
    assert VersionStore(root).active_version() == before
    detail = admin.get(f"/api/v1/models/{job['version']}").json()
    assert detail["n_samples"] == 400 and detail["data_file"] == "upload.csv"


@pytest.mark.slow
def test_job_with_activate_switches_the_active_version(admin, root):
    response = admin.post("/api/v1/models", data={"k": "auto", "activate": "true"}, headers=ADMIN)
    assert response.status_code == 202
    job = _wait(admin, response.json()["job_id"])
    assert job["state"] == "succeeded" and job["activated"] is True
    assert VersionStore(root).active_version() == job["version"]
    assert VersionStore(root).history()[-1]["key_id"].startswith("key-")


@pytest.mark.slow
def test_too_few_rows_fail_with_the_cli_reason(admin, root):
    versions = VersionStore(root).versions()
    csv = b"CustomerID,Gender,Age,Annual Income (k$),Spending Score (1-100)\n1,Male,20,30,40\n"
    response = admin.post("/api/v1/models", files={"file": ("few.csv", csv, "text/csv")}, headers=ADMIN)
    assert response.status_code == 202
    job = _wait(admin, response.json()["job_id"])
    assert job["state"] == "failed"
    assert "at least 6 are needed" in job["error"] and "\n" not in job["error"]
    assert str(root.parent) not in job["error"]
    assert VersionStore(root).versions() == versions


@pytest.mark.parametrize(
    ("content", "fields", "message"),
    [
        (b"", {}, "empty"),
        (b"\x00\x01binary", {}, "binary"),
        (b"annual_income,spending_score\n\xff\xfe1,2\n", {}, "not UTF-8"),
        (b"name,city\nann,paris\n", {}, "missing required column"),
        (b"annual_income,spending_score\n1,2\n", {"k": "many"}, "k must be"),
        (b"annual_income,spending_score\n1,2\n", {"k": "11"}, "between 2 and 10"),
        (b"annual_income,spending_score\n1,2\n", {"features": "height"}, "features must be"),
    ],
)
def test_bad_uploads_get_a_clear_422_and_no_job(admin, root, content, fields, message):
    response = admin.post("/api/v1/models", files={"file": ("x.csv", content, "text/csv")}, data=fields, headers=ADMIN)
    assert response.status_code == 422
    assert message in response.json()["message"]
    assert not (root / ".jobs").exists() or not [p for p in (root / ".jobs").iterdir() if not p.name.startswith(".")]


def test_upload_over_the_limit_is_413(client_for, root):
    client = client_for(model_dir=root, admin_api_keys=[KEY], train_max_upload_bytes=4096)
    content = b"annual_income,spending_score\n" + b"50,50\n" * 2000
    response = client.post("/api/v1/models", files={"file": ("big.csv", content, "text/csv")}, headers=ADMIN)
    assert response.status_code == 413
    assert response.json()["type"] == "body_too_large"


def test_unknown_job_is_404(admin):
    assert admin.get("/api/v1/jobs/" + "0" * 32).status_code == 404
    assert admin.get("/api/v1/jobs/..%2Fx").status_code == 404


@pytest.mark.slow
def test_killed_job_leaves_nothing_and_the_active_model_serves(admin, root, tmp_path):
    before_versions, before_active = VersionStore(root).versions(), VersionStore(root).active_version()
    data = write_customers(tmp_path / "big.csv", rows=400_000, seed=5)
    with data.open("rb") as handle:
        response = admin.post(
            "/api/v1/models", files={"file": ("big.csv", handle, "text/csv")}, data={"activate": "true"}, headers=ADMIN
        )
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    busy = admin.post("/api/v1/models", headers=ADMIN)
    assert busy.status_code == 409  # one job at a time by default
    running = _wait(admin, job_id, states=("running", "succeeded", "failed"))
    assert running["state"] == "running"
    job_file = root / ".jobs" / job_id / "job.json"
    os.kill(__import__("json").loads(job_file.read_text())["pid"], signal.SIGKILL)
    job = _wait(admin, job_id, timeout=30)
    assert job["state"] == "failed" and "exit code -9" in job["error"]
    assert VersionStore(root).versions() == before_versions
    assert VersionStore(root).active_version() == before_active
    predicted = admin.post("/api/v1/predict", json={"annual_income": 120, "spending_score": 90})
    assert predicted.status_code == 200 and predicted.json()["model_version"] == before_active
