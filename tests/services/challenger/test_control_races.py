"""Challenger changes that race: each is checked under the folder's lock against the folder, not a worker's memory.

Two registries on one folder stand for two workers; the other worker's change runs at the racing moment (while a
report is built, or before this worker polls), so every interleaving is played out in order, without timing.
"""

from pathlib import Path

import pytest

from app.core.errors import VersionConflict
from app.models.versions import challenger as challengers
from app.models.versions.registry import ModelRegistry
from app.models.versions.store import VersionStore
from app.services import lifecycle
from app.services.challenger import control


def _worker(root: Path) -> ModelRegistry:
    return ModelRegistry(VersionStore(root)).load()


def _set(registry: ModelRegistry, version: str, mode: str = "shadow", share: float | None = None) -> None:
    control.set_challenger(registry=registry, segmentation="default", version=version, mode=mode, share=share, key=None)


def _stop(registry: ModelRegistry) -> None:
    control.stop(registry=registry, segmentation="default", reason="enough", key=None)


def _promote(registry: ModelRegistry) -> None:
    control.promote(registry=registry, segmentation="default", reason="", key=None)


def _events(root: Path) -> list[str]:
    return [entry["event"] for entry in challengers.read_history(root)]


@pytest.fixture
def while_reporting(monkeypatch: pytest.MonkeyPatch):
    """Run a change once, as the first stop or promotion has built its final report (before its lock)."""
    original = control._final_report

    def arrange(change) -> None:
        pending = [change]

        def report(**kwargs):
            final = original(**kwargs)
            if pending:
                pending.pop()()
            return final

        monkeypatch.setattr(control, "_final_report", report)

    return arrange


def test_a_stop_while_promote_builds_its_report_wins_and_the_promotion_is_refused(two_versions, while_reporting):
    root, first, second = two_versions
    here, other = _worker(root), _worker(root)
    _set(here, second)
    while_reporting(lambda: _stop(other))
    with pytest.raises(VersionConflict, match="stopped or promoted"):
        _promote(here)
    assert VersionStore(root).active_version() == first
    assert [entry["to"] for entry in VersionStore(root).history()] == [first]
    assert _events(root) == ["set", "stopped"]


def test_a_promotion_while_stop_builds_its_report_wins_and_the_stop_is_refused(two_versions, while_reporting):
    root, _first, second = two_versions
    here, other = _worker(root), _worker(root)
    _set(here, second)
    while_reporting(lambda: _promote(other))
    with pytest.raises(VersionConflict, match="stopped or promoted"):
        _stop(here)
    assert VersionStore(root).active_version() == second
    assert VersionStore(root).history()[-1]["reason"] == f"promoted challenger {second} (shadow)"
    assert _events(root) == ["set", "promoted"]


@pytest.mark.parametrize("end", [_stop, _promote])
def test_an_experiment_replaced_while_its_end_builds_the_report_is_left_running(two_versions, while_reporting, end):
    root, first, second = two_versions
    here, other = _worker(root), _worker(root)
    _set(here, second)
    while_reporting(lambda: _set(other, second, mode="split", share=0.4))
    with pytest.raises(VersionConflict, match="replaced"):
        end(here)
    assert VersionStore(root).active_version() == first
    assert challengers.read_setting(root)["mode"] == "split"
    assert _events(root) == ["set", "set"]


def test_setting_the_version_another_worker_just_activated_is_refused(two_versions):
    root, _first, second = two_versions
    here, other = _worker(root), _worker(root)
    lifecycle.activate(registry=other, version=second, reason="by hand", key="key-b")
    # `here` has not polled: it still serves the old champion.
    with pytest.raises(VersionConflict, match="is the champion"):
        _set(here, second, mode="split", share=0.5)
    assert VersionStore(root).active_version() == second
    assert challengers.read_setting(root) is None
    assert _events(root) == []


def test_setting_the_version_another_worker_just_rolled_back_to_is_refused(two_versions):
    root, first, second = two_versions
    VersionStore(root).activate(second, reason="newer")
    here, other = _worker(root), _worker(root)
    lifecycle.rollback(registry=other, reason="", key="key-b")
    with pytest.raises(VersionConflict, match="is the champion"):
        _set(here, first)
    assert VersionStore(root).active_version() == first
    assert challengers.read_setting(root) is None


def test_activating_the_version_just_set_as_challenger_clears_it(two_versions):
    root, first, second = two_versions
    here, other = _worker(root), _worker(root)
    _set(here, second, mode="split", share=0.5)
    lifecycle.activate(registry=other, version=second, reason="by hand", key="key-b")
    assert VersionStore(root).active_version() == second
    assert challengers.read_setting(root) is None
    assert [(e["event"], e["version"]) for e in challengers.read_history(root)] == [
        ("set", second),
        ("cleared", second),
    ]
    assert challengers.read_history(root)[0]["reason"] == f"split against {first}"
