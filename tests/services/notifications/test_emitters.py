"""Where events are raised: the activation mirror (version.activated) and the end of a training job (job.*)."""

import json
import os
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import select

from app.db.session import create_db_engine
from app.db.tables import NotificationDelivery, NotificationEvent
from app.models.versions.store import HISTORY_FILE, VersionStore
from app.services.monitoring.activation_mirror import ActivationMirror
from app.services.notifications.events import JOB_FAILED, JOB_SUCCEEDED, VERSION_ACTIVATED
from app.services.notifications.subscriptions import create_subscription
from app.services.training.events import notify_job_ended
from app.services.training.launch import settle_orphaned_jobs
from app.services.training.runner import JobRunner
from app.services.training.store import JobStore, read_job, write_job


def events_of(sessions) -> list[tuple[str, dict]]:
    with sessions() as session:
        return [(row.type, row.payload) for row in session.scalars(select(NotificationEvent).order_by("id"))]


def write_history(folder, *entries) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / HISTORY_FILE).open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(entry) + "\n" for entry in entries)


def test_a_mirrored_activation_raises_version_activated_once(tmp_path, database_url, sessions):
    create_subscription(sessions=sessions, events=[VERSION_ACTIVATED], url="https://example.com/h")
    root = tmp_path / "models"
    now = datetime.now(UTC)
    old = {"at": (now - timedelta(days=30)).isoformat(), "from": None, "to": "v0", "reason": "old", "key_id": None}
    new = {"at": now.isoformat(), "from": "v0", "to": "v1", "reason": "better", "key_id": "k1"}
    write_history(root, old, new)
    engine = create_db_engine(database_url)
    # Two processes mirroring the same history: the event is written once.
    for _ in range(2):
        assert ActivationMirror(engine, VersionStore(root)).sync()
    engine.dispose()

    events = events_of(sessions)
    # The month-old activation is backfilled into the table but announces nothing.
    assert [(event, payload["to_version"], payload["from_version"]) for event, payload in events] == [
        (VERSION_ACTIVATED, "v1", "v0")
    ]
    assert events[0][1]["segmentation"] == "default" and events[0][1]["reason"] == "better"
    with sessions() as session:
        assert len(session.scalars(select(NotificationDelivery)).all()) == 1


def test_a_job_end_raises_job_succeeded_or_failed_once(make_settings, tmp_path, database_url, sessions):
    settings = make_settings(database_url=database_url)
    succeeded = {"job_id": "j1", "state": "succeeded", "version": "v9", "activated": True, "params": {}}
    failed = {"job_id": "j2", "state": "failed", "error": "no rows", "params": {"segmentation": "rfm"}}

    notify_job_ended(succeeded, settings)
    notify_job_ended(succeeded, settings)
    notify_job_ended(failed, settings)

    events = events_of(sessions)
    assert [(event, payload["job_id"], payload["segmentation"]) for event, payload in events] == [
        (JOB_SUCCEEDED, "j1", "default"),
        (JOB_FAILED, "j2", "rfm"),
    ]
    assert events[0][1]["version"] == "v9" and events[1][1]["error"] == "no rows"


def test_a_job_announces_its_own_end_when_no_server_waits_for_it(
    make_settings, tmp_path, database_url, sessions, monkeypatch
):
    # The server that started the job was restarted meanwhile: no reaper is left to write the event.
    settings = make_settings(database_url=database_url, model_dir=tmp_path / "models")
    model = SimpleNamespace(version="v7", segments=[], info={})
    results = iter([SimpleNamespace(model=model, activated=True), MemoryError()])

    def train(*args, **kwargs):
        result = next(results)
        if isinstance(result, BaseException):
            raise result
        return result

    monkeypatch.setattr("app.models.training.train", train)
    request = {"k": 5, "features": ["annual_income"], "seed": 1, "sweep": False, "activate": True, "key_id": "",
               "request_id": "req-1", "data_file": None}  # fmt: skip
    ids = []
    for _ in range(2):
        job_id, folder = JobStore(tmp_path / "jobs").create(request)
        JobRunner(folder, settings=settings).run()
        ids.append(job_id)

    events = events_of(sessions)
    assert [(event, payload["job_id"], payload["state"]) for event, payload in events] == [
        (JOB_SUCCEEDED, ids[0], "succeeded"),
        (JOB_FAILED, ids[1], "failed"),
    ]
    assert events[0][1]["version"] == "v7" and events[0][1]["activated"] is True
    assert events[1][1]["error"].startswith("training ran out of memory")


def test_a_job_announces_nothing_when_notifications_are_off(
    make_settings, tmp_path, database_url, sessions, monkeypatch
):
    settings = make_settings(database_url=database_url, model_dir=tmp_path / "models", notifications_enabled=False)
    monkeypatch.setattr(
        "app.models.training.train",
        lambda *args, **kwargs: SimpleNamespace(
            model=SimpleNamespace(version="v7", segments=[], info={}), activated=False
        ),
    )
    request = {"k": 5, "features": ["annual_income"], "seed": 1, "sweep": False, "activate": False, "key_id": "",
               "request_id": None, "data_file": None}  # fmt: skip
    _, folder = JobStore(tmp_path / "jobs").create(request)

    assert JobRunner(folder, settings=settings).run() == 0
    assert events_of(sessions) == []


def test_a_job_killed_with_its_server_is_failed_and_announced_when_a_server_starts(
    make_settings, tmp_path, database_url, sessions
):
    settings = make_settings(database_url=database_url, model_dir=tmp_path / "models", jobs_dir=tmp_path / "jobs")
    store = JobStore(settings.job_root)
    gone = subprocess.Popen(["true"])  # a process that is gone: the job's, killed with its server
    gone.wait()
    request = {"activate": False, "request_id": "req-9"}
    jobs = {}
    for name, pid, host in [
        ("orphan", gone.pid, socket.gethostname()),
        ("alive", os.getpid(), socket.gethostname()),  # still running here
        ("elsewhere", gone.pid, "another-host"),  # its own host's server settles it
    ]:
        job_id, folder = store.create(request)
        write_job(folder, {**read_job(folder), "state": "running", "pid": pid, "host": host, "heartbeat": 1.0})
        jobs[name] = (job_id, folder)

    assert settle_orphaned_jobs(settings=settings) == [jobs["orphan"][0]]
    assert settle_orphaned_jobs(settings=settings) == []  # once

    orphan = read_job(jobs["orphan"][1])
    assert orphan["state"] == "failed" and orphan["error"].endswith("; no version was added")
    assert [read_job(jobs[name][1])["state"] for name in ("alive", "elsewhere")] == ["running", "running"]
    assert [(event, payload["job_id"]) for event, payload in events_of(sessions)] == [(JOB_FAILED, jobs["orphan"][0])]
