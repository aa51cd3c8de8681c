"""The store after a crash mid-activation: ACTIVE and the history agree once anyone takes the lock again."""

import json
from itertools import pairwise
from pathlib import Path

import pytest

from app.models.versions.store import INTENT_FILE, VersionStore


class Crash(BaseException):
    """A kill -9 at this point: nothing after it runs (the lock is released, as the kernel would)."""


def _crash_at(monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    """Make one step of an activation's commit die."""

    def die(*args, **kwargs) -> None:
        raise Crash(step)

    monkeypatch.setattr(VersionStore, step, die)


def _agree(root: Path) -> list[dict]:
    """The history, after checking it agrees with ACTIVE and has no activation left in progress."""
    store = VersionStore(root)
    history = store.history()
    assert history[-1]["to"] == store.active_version()
    # Each activation starts from where the one before it ended: no entry for a version that never became active.
    assert all(entry["from"] == before["to"] for before, entry in pairwise(history))
    assert not (root / INTENT_FILE).exists()
    return history


def test_crash_before_the_pointer_changes_leaves_no_history_entry(two_versions, monkeypatch):
    root, first, second = two_versions
    before = VersionStore(root).history()
    _crash_at(monkeypatch, "_write_pointer")
    with pytest.raises(Crash):
        VersionStore(root).activate(second, reason="interrupted")
    monkeypatch.undo()
    assert (root / INTENT_FILE).exists()

    VersionStore(root).prepare()  # the restart
    assert VersionStore(root).active_version() == first
    assert _agree(root) == before


def test_crash_after_the_pointer_changes_is_completed_at_the_restart(two_versions, monkeypatch):
    root, first, second = two_versions
    _crash_at(monkeypatch, "_append_history")
    with pytest.raises(Crash):
        VersionStore(root).activate(second, reason="interrupted", key="key-1")
    monkeypatch.undo()
    assert VersionStore(root).active_version() == second
    assert VersionStore(root).history()[-1]["to"] == first

    VersionStore(root).prepare()
    last = _agree(root)[-1]
    assert (last["from"], last["to"], last["reason"], last["key_id"]) == (first, second, "interrupted", "key-1")


def test_crash_after_the_history_line_adds_no_second_line(two_versions):
    root, _, second = two_versions
    store = VersionStore(root)
    entry = store.activate(second, reason="done")
    # Only the removal of the intent was lost.
    (root / INTENT_FILE).write_text(json.dumps(entry))
    count = len(store.history())

    store.prepare()
    assert len(_agree(root)) == count


def test_intent_cut_short_is_removed_and_changes_nothing(two_versions):
    root, first, _ = two_versions
    before = VersionStore(root).history()
    (root / INTENT_FILE).write_text('{"at": "2026-')
    VersionStore(root).prepare()
    assert VersionStore(root).active_version() == first
    assert _agree(root) == before


def test_next_activation_settles_a_crash_before_it_changes_anything(two_versions, monkeypatch):
    root, first, second = two_versions
    _crash_at(monkeypatch, "_append_history")
    with pytest.raises(Crash):
        VersionStore(root).activate(second, reason="interrupted")
    monkeypatch.undo()

    # Another worker, still running, rolls back without any restart in between.
    rolled = VersionStore(root).rollback(reason="undo")
    assert (rolled["from"], rolled["to"]) == (second, first)
    assert [(e["from"], e["to"]) for e in _agree(root)][-2:] == [(first, second), (second, first)]


def test_phantom_left_by_an_older_release_is_recovered_visibly(two_versions):
    root, first, second = two_versions
    # What the old order (history first, then the pointer) left after a kill between the two.
    phantom = {"at": "2026-01-01T00:00:00.000+00:00", "from": first, "to": second, "reason": "x", "key_id": None}
    with (root / "history.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(phantom) + "\n")

    VersionStore(root).prepare()
    last = _agree(root)[-1]
    assert (last["from"], last["to"]) == (second, first)
    assert last["reason"].startswith(f"recovered: ACTIVE named {first}")


def test_unservable_pointer_is_not_recorded_in_the_history(two_versions):
    root, _, _ = two_versions
    before = VersionStore(root).history()
    (root / "ACTIVE").write_text("../../etc\n")
    VersionStore(root).prepare()
    assert VersionStore(root).history() == before


def test_line_cut_short_by_a_power_cut_does_not_swallow_the_next_one(two_versions):
    root, first, second = two_versions
    with (root / "history.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"at": "2026-01-01T00:00:00.000+00:00", "fr')
    VersionStore(root).activate(second, reason="after the cut")
    last = VersionStore(root).history()[-1]
    assert (last["from"], last["to"], last["reason"]) == (first, second, "after the cut")
