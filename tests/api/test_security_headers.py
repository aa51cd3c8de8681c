"""Caching and browser-policy headers on real answers: nothing the app answers is stored by a cache unless it says
so (labelled files, job states, admin answers, /metrics), static files keep their caching, and every answer
carries a Permissions-Policy."""

import re

import pytest

from app.core.middleware import PERMISSIONS_POLICY
from app.services.training.store import JobStore
from tests.web.test_score_page import post_file

ADMIN_KEY = "headers-admin-key"
CUSTOMERS_CSV = b"annual_income,spending_score\n120,90\n20,10\n"
DOWNLOAD = re.compile(r'href="(/score/download/[0-9a-f]{32})"')


@pytest.fixture
def admin_client(client_for, tmp_path):
    """A client with an admin key configured and its own folder of training jobs."""
    return client_for(admin_api_keys=ADMIN_KEY, jobs_dir=tmp_path / "jobs")


def test_labelled_csv_answer_is_not_stored(client):
    response = client.post("/api/v1/predict/csv", content=CUSTOMERS_CSV, headers={"content-type": "text/csv"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"


def test_score_download_is_not_stored(client):
    page = post_file(client, CUSTOMERS_CSV)
    assert page.status_code == 200
    download = client.get(DOWNLOAD.search(page.text).group(1))
    assert download.status_code == 200
    assert download.headers["cache-control"] == "no-store"


def test_job_state_is_not_stored(admin_client, tmp_path):
    job_id, _ = JobStore(tmp_path / "jobs").create({})
    response = admin_client.get(f"/api/v1/jobs/{job_id}")
    assert response.status_code == 200
    assert response.json()["state"] == "queued"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("DELETE", "/api/v1/models/20000101.000000-none", 404),
        ("POST", "/api/v1/models/rollback", 409),
        ("GET", "/api/v1/model/info", 200),
        ("GET", "/metrics", 200),
    ],
)
def test_admin_answers_are_not_stored(admin_client, method, path, status):
    response = admin_client.request(method, path, headers={"X-API-Key": ADMIN_KEY})
    assert response.status_code == status
    assert response.headers["cache-control"] == "no-store"


def test_static_files_keep_their_caching(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("public, max-age=")
    assert "no-store" not in response.headers["cache-control"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),
        ("/about", 200),
        ("/docs", 200),
        ("/api/v1/health", 200),
        ("/static/css/app.css", 200),
        ("/nope", 404),
    ],
)
def test_every_answer_has_a_permissions_policy(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["permissions-policy"] == PERMISSIONS_POLICY
    assert "camera=()" in PERMISSIONS_POLICY and "geolocation=()" in PERMISSIONS_POLICY
