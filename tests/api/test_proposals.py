"""Retraining proposals over HTTP: propose, the candidate's job, list, read, accept and dismiss, and bad input."""

import errno
import time
from datetime import UTC, datetime, timedelta

import pytest

from app.db.session import create_db_engine, session_factory
from app.models.versions.store import VersionStore
from app.services.proposals import jobs, records
from app.services.proposals.logged import MIN_CUSTOMERS
from app.services.training.store import JobStore
from tests.accounts import JWT_SECRET, add_user, bearer
from tests.api.test_monitoring import customers, feed

KEY = "proposals-admin-key"
ADMIN = {"X-API-Key": KEY}
# Long enough for a training job's process to start and train on a busy machine; the loop ends as soon as it is done.
JOB_DEADLINE_SECONDS = 180


@pytest.fixture
def setup(client_for, fresh_dir, tmp_path):
    """A client on a private versions folder with its own database: (client, folder, db url)."""
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    client = client_for(model_dir=fresh_dir, database_url=url, admin_api_keys=[KEY], jwt_secret=JWT_SECRET)
    return client, fresh_dir, url


def _stored(url: str, version: str, state: str) -> str:
    """A proposal stored straight in the database, moved to `state`; its id."""
    engine = create_db_engine(url)
    try:
        with session_factory(engine)() as session:
            row = records.create(
                session, segmentation="default", trigger=records.MANUAL, reason="stored", base_version=version
            )
            row.state = state
            session.commit()
            return row.id
    finally:
        engine.dispose()


def _settled(client, proposal_id: str) -> dict:
    """The proposal once its candidate's job has ended."""
    deadline = time.monotonic() + JOB_DEADLINE_SECONDS
    while True:
        body = client.get(f"/api/v1/proposals/{proposal_id}").json()
        if body["state"] != "training" or time.monotonic() > deadline:
            return body
        time.sleep(0.5)


def test_a_proposal_trains_a_candidate_in_a_job_and_accepting_activates_it(setup, model):
    client, root, _url = setup
    feed(client, customers(300, seed=81))

    response = client.post("/api/v1/proposals", json={"reason": "new campaign"}, headers=ADMIN)

    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["trigger"], created["reason"], created["state"]) == ("manual", "new campaign", "training")
    assert created["base_version"] == model.version and created["job_id"]
    assert client.get(f"/api/v1/jobs/{created['job_id']}").status_code == 200
    ready = _settled(client, created["id"])
    assert ready["state"] == "ready", ready
    assert ready["comparison"]["summary"]["customers"] == 300
    # Never activated by itself: AUTO_PROMOTE is off.
    assert VersionStore(root).active_version() == model.version
    listed = client.get("/api/v1/proposals").json()
    assert listed["segmentation"] == "default" and [p["id"] for p in listed["proposals"]] == [created["id"]]

    accepted = client.post(f"/api/v1/proposals/{created['id']}/accept", headers=ADMIN)

    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "accepted" and accepted.json()["decided_by"]
    assert VersionStore(root).active_version() == ready["candidate_version"]
    info = client.get("/api/v1/model/info")
    assert info.json()["version"] == ready["candidate_version"], info.text
    assert client.post(f"/api/v1/proposals/{created['id']}/accept", headers=ADMIN).status_code == 409
    assert client.post(f"/api/v1/proposals/{created['id']}/dismiss", headers=ADMIN).status_code == 409


def test_a_proposal_with_too_few_logged_customers_is_refused_and_stores_nothing(setup):
    client, *_ = setup
    feed(client, customers(MIN_CUSTOMERS - 1, seed=83))

    response = client.post("/api/v1/proposals", json={}, headers=ADMIN)

    assert response.status_code == 422, response.text
    assert response.json()["type"] == "invalid_dataset"
    assert f"only {MIN_CUSTOMERS - 1} logged customer(s) of 'default'" in response.json()["message"]
    assert client.get("/api/v1/proposals").json()["proposals"] == []
    assert client.get("/api/v1/jobs", headers=ADMIN).json()["jobs"] == []


def test_a_proposal_while_a_job_runs_is_a_409_as_training_is_and_stores_nothing(setup):
    client, *_ = setup
    feed(client, customers(MIN_CUSTOMERS, seed=84))
    JobStore(client.app.state.settings.job_root).create({"segmentation": "default"})  # queued: it counts as running

    response = client.post("/api/v1/proposals", json={}, headers=ADMIN)

    assert response.status_code == 409, response.text
    training = client.post("/api/v1/models", data={"k": "3"}, headers=ADMIN)
    assert training.status_code == 409
    assert (
        response.json()["message"]
        == training.json()["message"]
        == ("1 training job(s) already running: wait for one to finish")
    )
    assert client.get("/api/v1/proposals").json()["proposals"] == []


def test_unknown_proposals_are_404(setup):
    client, *_ = setup
    assert client.get("/api/v1/proposals/nosuch").status_code == 404
    response = client.post("/api/v1/proposals/nosuch/accept", headers=ADMIN)
    assert response.status_code == 404 and "nosuch" in response.json()["message"]
    assert client.post("/api/v1/proposals/nosuch/dismiss", headers=ADMIN).status_code == 404


def test_a_proposal_id_holding_a_nul_is_a_422(setup):
    client, *_ = setup
    # PostgreSQL refuses a NUL in a query: each of these was a 500 there.
    for method, path in (("GET", ""), ("POST", "/accept"), ("POST", "/dismiss")):
        response = client.request(method, f"/api/v1/proposals/a%00b{path}", headers=ADMIN)
        assert response.status_code == 422, response.text
        assert "U+0000" in response.json()["message"]


@pytest.mark.parametrize("state", [records.FAILED, records.DISMISSED, records.TRAINING])
def test_only_a_ready_proposal_can_be_accepted(setup, model, state):
    client, root, url = setup
    proposal_id = _stored(url, model.version, state)
    response = client.post(f"/api/v1/proposals/{proposal_id}/accept", headers=ADMIN)
    assert response.status_code == 409
    assert f"is {state}" in response.json()["message"]
    assert VersionStore(root).active_version() == model.version


def test_dismissing_leaves_the_active_version_and_happens_once(setup, model):
    client, root, url = setup
    proposal_id = _stored(url, model.version, records.READY)
    response = client.post(f"/api/v1/proposals/{proposal_id}/dismiss", headers=ADMIN)
    assert response.status_code == 200
    assert response.json()["state"] == "dismissed"
    assert VersionStore(root).active_version() == model.version
    assert client.post(f"/api/v1/proposals/{proposal_id}/dismiss", headers=ADMIN).status_code == 409


def test_changes_need_an_admin(setup, model):
    client, _root, url = setup
    proposal_id = _stored(url, model.version, records.READY)
    add_user(client.app, "viewer@example.com", "viewer")
    viewer = bearer(client, "viewer@example.com")
    one = f"/api/v1/proposals/{proposal_id}"
    for path in ("/api/v1/proposals", f"{one}/accept", f"{one}/dismiss"):
        assert client.post(path).status_code == 401
        assert client.post(path, headers={"X-API-Key": "wrong"}).status_code == 403
        assert client.post(path, headers=viewer).status_code == 403
    assert client.get(f"/api/v1/proposals/{proposal_id}").json()["state"] == "ready"


def test_the_list_is_per_segmentation(setup, model):
    client, _root, url = setup
    stored = _stored(url, model.version, records.READY)
    assert [p["id"] for p in client.get("/api/v1/proposals").json()["proposals"]] == [stored]
    unknown = client.get("/api/v1/proposals", params={"segmentation": "nope"})
    assert unknown.status_code == 404 and "nope" in unknown.json()["message"]
    assert client.get("/api/v1/experiments", params={"segmentation": "nope"}).status_code == 404
    assert client.get("/api/v1/proposals", params={"segmentation": "Not A Name"}).status_code == 422


def test_a_jobs_folder_that_cannot_be_written_answers_503_and_fails_the_proposal(setup, monkeypatch):
    client, _root, _url = setup
    feed(client, customers(MIN_CUSTOMERS, seed=85))

    def read_only(**_kwargs):
        raise OSError(errno.EROFS, "Read-only file system", "/srv/jobs")

    monkeypatch.setattr(jobs, "launch_job", read_only)

    response = client.post("/api/v1/proposals", json={}, headers=ADMIN)

    assert response.status_code == 503, response.text
    assert "/srv/jobs" not in response.text and "marked failed" in response.json()["message"]
    (listed,) = client.get("/api/v1/proposals").json()["proposals"]
    assert listed["state"] == "failed" and "cannot be written" in listed["error"]


def test_a_proposal_that_never_got_a_job_is_failed_once_stale(setup, model):
    client, _root, url = setup
    stale = _stored(url, model.version, records.TRAINING)
    fresh = _stored(url, model.version, records.TRAINING)
    engine = create_db_engine(url)
    try:
        with session_factory(engine)() as session:
            row = records.get(session, proposal_id=stale)
            row.created_at = datetime.now(UTC) - timedelta(hours=1)
            session.commit()
    finally:
        engine.dispose()

    states = {p["id"]: p for p in client.get("/api/v1/proposals").json()["proposals"]}

    assert states[stale]["state"] == "failed" and "no training job" in states[stale]["error"]
    assert states[fresh]["state"] == "training"
    assert client.get(f"/api/v1/proposals/{fresh}").json()["state"] == "training"


def _ready(url: str, *, base: str, candidate: str) -> str:
    """A ready proposal trained from `base` whose candidate is `candidate`; its id."""
    engine = create_db_engine(url)
    try:
        with session_factory(engine)() as session:
            row = records.create(
                session, segmentation="default", trigger=records.MANUAL, reason="stored", base_version=base
            )
            row.state, row.candidate_version = records.READY, candidate
            session.commit()
            return row.id
    finally:
        engine.dispose()


@pytest.fixture
def two_setup(client_for, two_versions, tmp_path):
    """A client on a private folder with an inactive second version: (client, folder, db url, active, inactive)."""
    folder, first, second = two_versions
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    client = client_for(model_dir=folder, database_url=url, admin_api_keys=[KEY])
    return client, folder, url, first, second


def test_accepting_over_a_base_that_is_no_longer_active_is_409(two_setup):
    client, folder, url, first, second = two_setup
    proposal_id = _ready(url, base="20200101T000000-0000000", candidate=second)

    response = client.post(f"/api/v1/proposals/{proposal_id}/accept", headers=ADMIN)

    assert response.status_code == 409, response.text
    assert f"version {first} was activated since this candidate was trained" in response.json()["message"]
    assert VersionStore(folder).active_version() == first
    body = client.get(f"/api/v1/proposals/{proposal_id}").json()
    assert (body["state"], body["decided_by"]) == ("ready", None)


def test_accepting_over_its_base_activates_and_a_failed_activation_leaves_it_ready(two_setup):
    client, folder, url, first, second = two_setup
    broken = _ready(url, base=first, candidate="20200101T000000-0000000")
    refused = client.post(f"/api/v1/proposals/{broken}/accept", headers=ADMIN)
    assert 400 <= refused.status_code < 500, refused.text
    assert client.get(f"/api/v1/proposals/{broken}").json()["state"] == "ready"
    assert VersionStore(folder).active_version() == first

    proposal_id = _ready(url, base=first, candidate=second)
    accepted = client.post(f"/api/v1/proposals/{proposal_id}/accept", headers=ADMIN)

    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "accepted" and accepted.json()["activation"]["to"] == second
    assert VersionStore(folder).active_version() == second
    assert client.get("/api/v1/model/info").json()["version"] == second


@pytest.mark.parametrize("body", [{"mix_training": 0}, {"mix_training": "yes"}, {"reason": 5}, {"other": 1}])
def test_a_malformed_proposal_body_is_refused_and_proposes_nothing(setup, body):
    client, _root, _url = setup
    response = client.post("/api/v1/proposals", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert client.get("/api/v1/proposals").json()["proposals"] == []
