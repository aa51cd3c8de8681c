"""Starting a proposal's candidate job: its slot is taken before the proposal is stored, so a job asked for in between
gets the 409 and stores nothing; a job that cannot start holds no slot, and its stored proposal says why."""

import errno
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from app.core.errors import VersionConflict
from app.services.proposals import control, jobs, records
from app.services.proposals.logged import MIN_CUSTOMERS
from app.services.training import launch
from tests.api.test_monitoring import customers, feed
from tests.api.test_proposals import ADMIN, KEY
from tests.trainers import refuse_trainers


@pytest.fixture
def one_slot(client_for, fresh_dir, tmp_path, ended_trainers) -> tuple[TestClient, list[dict]]:
    """A client that may run one training job at a time, with enough logged customers to propose: (client, the
    processes started)."""
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    client = client_for(model_dir=fresh_dir, database_url=url, admin_api_keys=[KEY], train_max_concurrent_jobs=1)
    feed(client, customers(MIN_CUSTOMERS, seed=87))
    return client, ended_trainers


def _training_job(client: TestClient) -> str:
    """A training job of the default segmentation, asked for as POST /api/v1/models asks (its id)."""
    return launch.start_job(settings=client.app.state.settings, request={"segmentation": "default"})


def _proposal(client: TestClient) -> dict:
    """Another manual proposal, asked for as POST /api/v1/proposals asks."""
    sessions = client.app.state.db_sessions
    with sessions() as session:
        return control.propose(
            settings=client.app.state.settings,
            session=session,
            sessions=sessions,
            registry=client.app.state.registry,
            segmentation="default",
            reason="the other one",
            mix_training=False,
            key="other",
        )


def _listed_jobs(client: TestClient) -> list[str]:
    return [job["job_id"] for job in client.get("/api/v1/jobs", headers=ADMIN).json()["jobs"]]


@pytest.mark.parametrize("other", [_training_job, _proposal], ids=["training job", "proposal"])
def test_a_job_asked_for_while_a_proposal_is_stored_is_the_one_refused(
    one_slot, monkeypatch, other: Callable[[TestClient], object]
):
    # The proposal checked for a free slot, then stored itself: a job started in between took the slot, and the
    # proposal was stored failed and answered 201.
    client, started = one_slot
    create, others = records.create, []

    def other_request_first(session, **kwargs):
        if not others:  # once: the other request, if it is a proposal, stores itself through here too
            others.append(None)
            try:
                others[0] = other(client)
            except VersionConflict as exc:
                others[0] = exc
        return create(session, **kwargs)

    monkeypatch.setattr(records, "create", other_request_first)

    response = client.post("/api/v1/proposals", json={}, headers=ADMIN)

    assert response.status_code == 201, response.text
    proposal = response.json()
    assert proposal["state"] == "training" and proposal["error"] is None
    assert isinstance(others[0], VersionConflict) and "already running" in others[0].message
    assert [p["id"] for p in client.get("/api/v1/proposals").json()["proposals"]] == [proposal["id"]]
    assert _listed_jobs(client) == [proposal["job_id"]]
    assert len(started) == 1


def test_a_read_only_jobs_folder_is_a_503_that_stores_no_proposal(one_slot, monkeypatch):
    client, started = one_slot

    def read_only(**_kwargs):
        raise OSError(errno.EROFS, "Read-only file system", "/srv/jobs")

    monkeypatch.setattr(jobs, "reserve_job", read_only)

    response = client.post("/api/v1/proposals", json={}, headers=ADMIN)

    assert response.status_code == 503, response.text
    assert response.json()["type"] == "storage_unavailable" and "/srv/jobs" not in response.text
    assert client.get("/api/v1/proposals").json()["proposals"] == []
    assert started == []


def test_a_candidate_process_that_cannot_start_fails_its_proposal_and_holds_no_slot(one_slot, monkeypatch):
    client, started = one_slot
    refused = refuse_trainers(monkeypatch)

    response = client.post("/api/v1/proposals", json={}, headers=ADMIN)

    assert response.status_code == 503, response.text
    assert response.json()["type"] == "trainer_unavailable"
    (failed,) = client.get("/api/v1/proposals").json()["proposals"]
    assert failed["state"] == "failed" and "could not start the training process" in failed["error"]
    assert failed["job_id"] is None  # its job was given back, not left to be looked up
    assert _listed_jobs(client) == []
    refused.clear()
    again = client.post("/api/v1/proposals", json={}, headers=ADMIN)
    assert again.status_code == 201, again.text
    assert again.json()["state"] == "training" and _listed_jobs(client) == [again.json()["job_id"]]
    assert len(started) == 1
