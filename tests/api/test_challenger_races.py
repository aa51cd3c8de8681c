"""Two challenger requests at once over HTTP: one is held at its racing step while the other one runs in full."""

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select

from app.db.tables import AuditEvent
from app.models.versions import challenger as challengers
from app.models.versions.store import VersionStore
from app.services.challenger import control

KEY = "challenger-race-admin-key"
ADMIN = {"X-API-Key": KEY}
# Only a safety net against a hang: every wait returns as soon as the other side has done its step.
STUCK = 60


@pytest.fixture
def setup(client_for, two_versions, tmp_path):
    """A client on a two-version folder: (client, folder, champion, other version)."""
    root, first, second = two_versions
    client = client_for(model_dir=root, database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}", admin_api_keys=[KEY])
    return client, root, first, second


class Held:
    """A request sent in a thread that stops after a step until released: `step` wraps the function it holds."""

    def __init__(self) -> None:
        self.reached, self.released = threading.Event(), threading.Event()
        self.response = None
        self._armed = True

    def step(self, original: Callable, when: Callable[..., bool] = lambda *args, **kwargs: True) -> Callable:
        """`original`, held after its first call (that `when` picks) until `release`."""

        def held(*args, **kwargs):
            result = original(*args, **kwargs)
            if self._armed and when(*args, **kwargs):
                self._armed = False
                self.reached.set()
                assert self.released.wait(STUCK)
            return result

        return held

    def send(self, call: Callable) -> None:
        """Send the request in a thread and return once it is held."""

        def run() -> None:
            self.response = call()

        self._thread = threading.Thread(target=run)
        self._thread.start()
        assert self.reached.wait(STUCK), "the request never reached the held step"

    def release(self):
        """Let the request go on; its response."""
        self.released.set()
        self._thread.join(STUCK)
        return self.response


def _audited(client) -> list[str]:
    challenger_actions = select(AuditEvent.action).where(AuditEvent.action.startswith("challenger."))
    with client.app.state.db_sessions() as session:
        return list(session.scalars(challenger_actions.order_by(AuditEvent.id)))


def test_stop_during_promote_wins_and_the_promotion_is_refused(setup, monkeypatch):
    client, root, first, second = setup
    assert (
        client.put("/api/v1/challenger", json={"version": second, "mode": "shadow"}, headers=ADMIN).status_code == 200
    )
    promote = Held()
    monkeypatch.setattr(control, "_final_report", promote.step(control._final_report))
    promote.send(lambda: client.post("/api/v1/challenger/promote", headers=ADMIN))
    stopped = client.delete("/api/v1/challenger", headers=ADMIN)
    promoted = promote.release()
    assert stopped.status_code == 200
    assert promoted.status_code == 409 and "stopped or promoted" in promoted.json()["message"]
    assert VersionStore(root).active_version() == first
    assert [entry["to"] for entry in VersionStore(root).history()] == [first]
    assert [entry["event"] for entry in challengers.read_history(root)] == ["set", "stopped"]
    assert _audited(client) == ["challenger.set", "challenger.stop"]


def test_promote_during_stop_wins_and_the_stop_is_refused(setup, monkeypatch):
    client, root, _first, second = setup
    assert (
        client.put("/api/v1/challenger", json={"version": second, "mode": "shadow"}, headers=ADMIN).status_code == 200
    )
    stop = Held()
    monkeypatch.setattr(control, "_final_report", stop.step(control._final_report))
    stop.send(lambda: client.delete("/api/v1/challenger", headers=ADMIN))
    promoted = client.post("/api/v1/challenger/promote", headers=ADMIN)
    stopped = stop.release()
    assert promoted.status_code == 200
    assert stopped.status_code == 409
    assert VersionStore(root).active_version() == second
    assert VersionStore(root).history()[-1]["reason"] == f"promoted challenger {second} (shadow)"
    assert [entry["event"] for entry in challengers.read_history(root)] == ["set", "promoted"]
    assert _audited(client) == ["challenger.set", "challenger.promote"]


def test_activating_a_version_while_it_is_being_set_as_challenger_refuses_the_set(setup, monkeypatch):
    client, root, _first, second = setup
    registry = client.app.state.registry
    put = Held()
    # Held once the champion was read and the candidate loaded: before the set takes the folder's lock.
    monkeypatch.setattr(registry, "get", put.step(registry.get, when=lambda version=None: version == second))
    body = {"version": second, "mode": "split", "share": 0.5}
    put.send(lambda: client.put("/api/v1/challenger", json=body, headers=ADMIN))
    activated = client.post(f"/api/v1/models/{second}/activate", headers=ADMIN)
    answer = put.release()
    assert activated.status_code == 200
    assert answer.status_code == 409 and "is the champion" in answer.json()["message"]
    assert VersionStore(root).active_version() == second
    assert not (root / challengers.CHALLENGER_FILE).exists()
    assert challengers.read_history(root) == []
    state = client.get("/api/v1/challenger").json()
    assert state["champion"] == second and state["challenger"] is None
