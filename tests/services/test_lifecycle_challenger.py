"""Activations, rollbacks and deletes check and change the challenger under the same lock as the versions."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from app.core.errors import VersionConflict
from app.models.versions import challenger as challengers
from app.models.versions import store as store_module
from app.models.versions.registry import ModelRegistry
from app.models.versions.store import VersionStore
from app.services import lifecycle
from app.services.challenger import control
from app.services.proposals.activation import activate_over_base


@pytest.fixture
def releases(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str | None, str | None]]:
    """(ACTIVE, the challenger's version) each time the versions folder's lock is released: what other workers see."""
    seen: list[tuple[str | None, str | None]] = []
    original = store_module.exclusive_lock

    @contextmanager
    def watched(path: Path) -> Iterator[None]:
        with original(path):
            try:
                yield
            finally:
                root = Path(path).parent
                setting = challengers.read_setting(root)
                seen.append((VersionStore(root).active_version(), setting and setting["version"]))

    monkeypatch.setattr(store_module, "exclusive_lock", watched)
    return seen


def _set(root: Path, version: str) -> None:
    registry = ModelRegistry(VersionStore(root)).load()
    control.set_challenger(
        registry=registry, segmentation="default", version=version, mode="shadow", share=None, key=None
    )


def _events(root: Path) -> list[str]:
    return [entry["event"] for entry in challengers.read_history(root)]


def test_activate_the_challenger_clears_it_before_the_lock_is_released(two_versions, releases):
    root, _first, second = two_versions
    _set(root, second)
    lifecycle.activate_in_store(store=VersionStore(root), version=second, reason="by hand", key=None)
    assert VersionStore(root).active_version() == second
    assert challengers.read_setting(root) is None
    assert _events(root) == ["set", "cleared"]
    assert releases and all(active != challenger for active, challenger in releases)


def test_rollback_to_the_challenger_clears_it_before_the_lock_is_released(two_versions, releases):
    root, first, second = two_versions
    VersionStore(root).activate(second, reason="newer")
    _set(root, first)
    entry = lifecycle.rollback_in_store(store=VersionStore(root), reason="", key=None)
    assert entry["to"] == first and VersionStore(root).active_version() == first
    assert challengers.read_setting(root) is None
    assert _events(root) == ["set", "cleared"]
    assert releases and all(active != challenger for active, challenger in releases)


def test_a_proposal_activating_the_challenger_clears_it_before_the_lock_is_released(two_versions, releases):
    root, first, second = two_versions
    _set(root, second)
    activate_over_base(store=VersionStore(root), version=second, base_version=first, reason="proposal", key=None)
    assert VersionStore(root).active_version() == second
    assert _events(root) == ["set", "cleared"]
    assert releases and all(active != challenger for active, challenger in releases)


def test_a_challenger_set_just_before_the_delete_takes_the_lock_keeps_its_version(two_versions, monkeypatch):
    root, _first, second = two_versions
    original = store_module.exclusive_lock
    pending = [lambda: _set(root, second)]

    @contextmanager
    def set_first(path: Path) -> Iterator[None]:
        if pending:  # the delete's first lock: another worker's set gets there first
            pending.pop()()
        with original(path):
            yield

    monkeypatch.setattr(store_module, "exclusive_lock", set_first)
    with pytest.raises(VersionConflict, match="running challenger"):
        lifecycle.delete_from_store(store=VersionStore(root), version=second)
    assert (root / second).is_dir()
    assert challengers.read_setting(root)["version"] == second
