"""Where events are raised: the activation mirror (version.activated) and the end of a training job (job.*)."""

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.db.session import create_db_engine
from app.db.tables import NotificationDelivery, NotificationEvent
from app.models.versions.store import HISTORY_FILE, VersionStore
from app.services.monitoring.activation_mirror import ActivationMirror
from app.services.notifications.events import JOB_FAILED, JOB_SUCCEEDED, VERSION_ACTIVATED
from app.services.notifications.subscriptions import create_subscription
from app.services.training.launch import _notify_job_ended


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

    _notify_job_ended(succeeded, settings)
    _notify_job_ended(succeeded, settings)
    _notify_job_ended(failed, settings)

    events = events_of(sessions)
    assert [(event, payload["job_id"], payload["segmentation"]) for event, payload in events] == [
        (JOB_SUCCEEDED, "j1", "default"),
        (JOB_FAILED, "j2", "rfm"),
    ]
    assert events[0][1]["version"] == "v9" and events[1][1]["error"] == "no rows"
