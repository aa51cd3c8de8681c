"""AUTO_PROMOTE and its agreement threshold reach a candidate's job process from the app's settings, whatever the
server's environment says."""

import pytest

from app.core.config import Settings
from app.models.versions.store import VersionStore
from app.services.training.launch import job_environment
from tests.api.test_monitoring import customers, feed
from tests.api.test_proposals import ADMIN, KEY, _settled


@pytest.mark.parametrize(("auto_promote", "agreement"), [(True, 0.35), (False, 0.9)])
def test_the_job_reads_auto_promote_from_the_apps_settings(make_settings, monkeypatch, auto_promote, agreement):
    # The server's environment says the opposite; the job's process must still follow the app.
    monkeypatch.setenv("AUTO_PROMOTE", str(not auto_promote).lower())
    monkeypatch.setenv("AUTO_PROMOTE_MIN_AGREEMENT", "0.5")
    settings = make_settings(auto_promote=auto_promote, auto_promote_min_agreement=agreement)
    for name, value in job_environment(settings=settings).items():
        monkeypatch.setenv(name, value)

    in_job = Settings(_env_file=None)

    assert in_job.auto_promote is auto_promote
    assert in_job.auto_promote_min_agreement == agreement


def test_a_candidate_job_auto_promotes_when_the_app_says_so(client_for, fresh_dir, tmp_path, monkeypatch, model):
    monkeypatch.setenv("AUTO_PROMOTE", "false")
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    client = client_for(model_dir=fresh_dir, database_url=url, admin_api_keys=[KEY], auto_promote=True)
    feed(client, customers(600, seed=62))

    created = client.post("/api/v1/proposals", json={}, headers=ADMIN)

    assert created.status_code == 201, created.text
    settled = _settled(client, created.json()["id"])
    assert (settled["state"], settled["decided_by"]) == ("accepted", "AUTO_PROMOTE"), settled
    assert VersionStore(fresh_dir).active_version() == settled["candidate_version"] != model.version
