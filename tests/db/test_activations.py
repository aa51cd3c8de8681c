"""Activations mirrored into the database: written when they happen, backfilled once, never blocked by the database."""

import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from app.db.tables import ModelActivation
from app.models.versions.store import VersionStore
from tests.db.reading import read_all

KEY = "mirror-admin-key"
ADMIN = {"X-API-Key": KEY}


def _rows(url: str) -> list[ModelActivation]:
    return read_all(url, select(ModelActivation).order_by(ModelActivation.activated_at))


def _as_history(rows: list[ModelActivation]) -> list[tuple]:
    return [(r.from_version, r.to_version, r.reason, r.key_id, r.activated_at.isoformat()) for r in rows]


def _from_file(root: Path) -> list[tuple]:
    return [
        (e["from"], e["to"], e["reason"], e["key_id"], datetime.fromisoformat(e["at"]).isoformat())
        for e in VersionStore(root).history()
    ]


def test_activations_are_mirrored_and_a_restart_adds_no_duplicates(client_for, database_url, two_versions):
    root, first, second = two_versions
    client = client_for(model_dir=root, database_url=database_url, admin_api_keys=[KEY])
    assert client.post(f"/api/v1/models/{second}/activate", params={"reason": "try"}, headers=ADMIN).status_code == 200
    assert client.post(f"/api/v1/models/{first}/activate", headers=ADMIN).status_code == 200
    assert client.app.state.activation_mirror.sync()

    rows = _rows(database_url)
    assert _as_history(rows) == _from_file(root)
    assert [(r.from_version, r.to_version) for r in rows][-2:] == [(first, second), (second, first)]
    assert rows[-2].reason == "try"
    assert all(r.key_id is None or (r.key_id.startswith("key-") and KEY not in r.key_id) for r in rows)
    assert rows[-1].key_id is not None

    client.__exit__(None, None, None)
    restarted = client_for(model_dir=root, database_url=database_url, admin_api_keys=[KEY])
    assert restarted.app.state.activation_mirror.sync()
    assert restarted.app.state.activation_mirror.sync()
    assert _as_history(_rows(database_url)) == _from_file(root)


def test_activations_made_elsewhere_are_backfilled_at_start_up(client_for, database_url, two_versions):
    root, first, second = two_versions
    # The CLI (or another host) activates while no server runs: only the file knows.
    VersionStore(root).activate(second, reason="from the CLI")
    VersionStore(root).rollback(reason="back")
    client = client_for(model_dir=root, database_url=database_url)
    assert client.app.state.activation_mirror.sync()
    rows = _rows(database_url)
    assert [(r.to_version, r.reason) for r in rows][-2:] == [(second, "from the CLI"), (first, "back")]
    assert len(rows) == len(VersionStore(root).history())


def test_mirror_follows_a_change_to_the_file_by_itself(client_for, database_url, two_versions):
    root, _, second = two_versions
    client = client_for(model_dir=root, database_url=database_url)
    mirror = client.app.state.activation_mirror
    VersionStore(root).activate(second, reason="another worker")
    deadline = time.monotonic() + 20
    while not any(r.reason == "another worker" for r in _rows(database_url)):
        assert time.monotonic() < deadline, "the mirror did not pick up the new history entry"
        time.sleep(0.2)
    assert mirror.failed == 0


def test_monitoring_page_shows_the_last_activation_from_the_mirror(client_for, database_url, two_versions):
    root, _, second = two_versions
    client = client_for(model_dir=root, database_url=database_url, admin_api_keys=[KEY])
    assert client.post(f"/api/v1/models/{second}/activate", headers=ADMIN).status_code == 200
    assert client.app.state.activation_mirror.sync()
    last = _rows(database_url)[-1]
    page = client.get("/monitoring")
    assert page.status_code == 200
    assert 'data-source="activations"' in page.text
    assert f'<time datetime="{last.activated_at.isoformat()}">' in page.text
    assert second in page.text


def test_activation_succeeds_with_the_database_down_and_lands_when_it_is_back(client_for, postgres, two_versions):
    root, _, second = two_versions
    url = postgres.create_database()
    client = client_for(model_dir=root, database_url=url, admin_api_keys=[KEY])
    mirror = client.app.state.activation_mirror
    assert mirror.sync()
    postgres.stop()
    try:
        response = client.post(f"/api/v1/models/{second}/activate", params={"reason": "db down"}, headers=ADMIN)
        assert response.status_code == 200
        assert (
            client.post("/api/v1/predict", json={"annual_income": 50, "spending_score": 50}).json()["model_version"]
            == second
        )
        assert mirror.sync() is False
        assert mirror.failed >= 1
    finally:
        postgres.start()
    assert VersionStore(root).history()[-1]["reason"] == "db down"
    assert mirror.sync()
    assert [r.reason for r in _rows(url)][-1] == "db down"
    assert _as_history(_rows(url)) == _from_file(root)
