"""The registry and the store: versions, the active pointer, history, rollback, deletion, races with savers."""

import errno
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.core.config import PROJECT_ROOT
from app.core.errors import ModelNotReady, NoActiveVersion, NotTrainedYet, UnknownModelVersion, VersionConflict
from app.core.security import key_id
from app.models.versions.registry import ModelRegistry
from app.models.versions.store import VersionStore, load_model
from app.utils import hashing

REGISTRY_LOGGER = "app.models.versions.registry"


def _open(root: Path) -> ModelRegistry:
    return ModelRegistry.open(root, auto_train=False, data_path=Path("unused"), processed_dir=Path("unused"))


def test_registry_lists_versions_newest_first_with_the_active_flag(two_versions):
    root, first, second = two_versions
    entries = _open(root).versions()
    assert [e["version"] for e in entries] == [second, first]
    assert [e["active"] for e in entries] == [False, True]
    assert all(e["usable"] and e["reason"] is None for e in entries)


def test_every_change_of_the_served_model_is_reported_in_order(two_versions):
    root, first, second = two_versions
    changes: list[tuple[str | None, str | None]] = []
    fallbacks: list[str | None] = []
    registry = ModelRegistry.open(
        root,
        auto_train=False,
        data_path=Path("unused"),
        processed_dir=Path("unused"),
        on_change=lambda version, previous, seconds: changes.append((version, previous)),
        on_fallback=fallbacks.append,
    )
    # Activated by another worker: this one learns of it from the pointer, as its poller does.
    VersionStore(root).activate(second, reason="test", key="")
    assert registry.refresh() is True
    (root / "ACTIVE").unlink()
    registry.refresh()
    VersionStore(root).activate(first, reason="back", key="")
    registry.refresh()
    # The pointer gone is no change of the served model: the last verified one answered until `first` loaded.
    assert changes == [(first, None), (second, first), (first, second)]
    assert len(fallbacks) == 2 and "no model version is active" in fallbacks[0] and fallbacks[1] is None


def _write_pointer(root: Path, content: str) -> None:
    """Replace ACTIVE by hand, as an operator or a broken deployment script might."""
    (root / "ACTIVE.tmp").write_text(content)
    os.replace(root / "ACTIVE.tmp", root / "ACTIVE")


def _bad_pointer(root: Path, second: str, kind: str) -> str:
    """Point ACTIVE at something that cannot be served; return words the reason must hold."""
    if kind == "unknown":
        _write_pointer(root, "20990101.000000-nothere\n")
        return "'20990101.000000-nothere' is not on disk"
    if kind == "empty":
        _write_pointer(root, "")
        return "no model version is active"
    if kind == "traversing":
        _write_pointer(root, "../../etc\n")
        return "'../../etc' is not on disk"
    if kind == "tampered":
        with (root / second / "kmeans_model.pkl").open("ab") as handle:
            handle.write(b"tampered")
        _write_pointer(root, f"{second}\n")
        return "kmeans_model.pkl does not match"
    (root / "ACTIVE").unlink()
    return "no model version is active"


@pytest.mark.parametrize("kind", ["unknown", "empty", "traversing", "tampered", "missing"])
def test_bad_pointer_keeps_the_last_verified_model_degraded(two_versions, kind, caplog):
    root, first, second = two_versions
    fallbacks: list[str | None] = []
    registry = ModelRegistry.open(
        root, auto_train=False, data_path=Path("x"), processed_dir=Path("x"), on_fallback=fallbacks.append
    )
    words = _bad_pointer(root, second, kind)
    with caplog.at_level(logging.ERROR, logger=REGISTRY_LOGGER):
        assert registry.refresh() is True
        assert registry.refresh() is False  # unchanged: a stat only, nothing logged again
    assert registry.ready
    assert registry.get().version == first
    assert registry.reason is None
    assert words in registry.degraded and f"serving the last verified version {first}" in registry.degraded
    assert len(fallbacks) == 1 and fallbacks[0] == registry.degraded
    errors = [r.getMessage() for r in caplog.records if r.name == REGISTRY_LOGGER and r.levelno >= logging.ERROR]
    assert errors == [f"the ACTIVE pointer cannot be served: {registry.degraded}"]


def test_pointer_fixed_ends_the_fallback(two_versions):
    root, _, second = two_versions
    fallbacks: list[str | None] = []
    registry = ModelRegistry.open(
        root, auto_train=False, data_path=Path("x"), processed_dir=Path("x"), on_fallback=fallbacks.append
    )
    _bad_pointer(root, second, "traversing")
    registry.refresh()
    _write_pointer(root, f"{second}\n")
    assert registry.refresh() is True
    assert registry.get().version == second
    assert registry.degraded is None
    assert fallbacks[-1] is None


def test_transient_read_error_in_a_poll_never_drops_the_model_and_is_retried(two_versions, monkeypatch):
    root, first, second = two_versions
    registry = _open(root)
    VersionStore(root).activate(second, reason="another worker")
    real_load = VersionStore.load

    def flaky(self, version):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(VersionStore, "load", flaky)
    registry.refresh()
    assert registry.get().version == first
    assert "could not be read: Input/output error" in registry.degraded
    assert registry.refresh() is True  # tried again though the pointer has not changed

    def unreadable_pointer(self):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(VersionStore, "active_version", unreadable_pointer)
    registry.refresh()
    assert registry.get().version == first
    assert "could not be read: Permission denied" in registry.degraded

    monkeypatch.undo()
    assert VersionStore.load is real_load
    # The pointer has not changed since the failed polls, and still the next poll loads it.
    assert registry.refresh() is True
    assert registry.get().version == second
    assert registry.degraded is None


def test_bad_pointer_at_start_up_means_not_ready(two_versions):
    root, _, _ = two_versions
    _write_pointer(root, "../../etc\n")
    registry = _open(root)
    assert not registry.ready
    assert registry.degraded is None
    assert "'../../etc' is not on disk" in registry.reason
    with pytest.raises(ModelNotReady):
        registry.get()


def test_a_segmentation_never_trained_says_so_and_how_to_train_it(tmp_path, two_versions):
    empty = ModelRegistry(VersionStore(tmp_path / "loyalty"), train_hint="train it", segmentation="loyalty").load()
    with pytest.raises(NotTrainedYet) as raised:
        empty.get()
    assert raised.value.message == "segmentation loyalty has no trained version yet: train it"
    assert (raised.value.status_code, raised.value.error_type, raised.value.segmentation) == (
        503,
        "model_not_ready",
        "loyalty",
    )
    # Versions on disk but none active is another matter: the reason, as before.
    root, _, _ = two_versions
    (root / "ACTIVE").unlink()
    inactive = ModelRegistry(VersionStore(root), segmentation="loyalty").load()
    with pytest.raises(ModelNotReady) as raised:
        inactive.get()
    assert not isinstance(raised.value, NotTrainedYet) and "no model version is active" in raised.value.message
    assert isinstance(raised.value, NoActiveVersion) and raised.value.segmentation == "loyalty"
    assert raised.value.message.endswith(inactive.activate_hint)


def test_get_serves_active_and_loads_other_versions(two_versions):
    root, first, second = two_versions
    registry = _open(root)
    assert registry.get().version == first
    assert registry.get(second).version == second
    assert registry.get(second) is registry.get(second)  # cached
    with pytest.raises(UnknownModelVersion):
        registry.get("20000101.000000-nothere")
    with pytest.raises(UnknownModelVersion):
        registry.get("../../etc")


def test_activation_moves_the_pointer_records_history_and_is_seen_on_refresh(two_versions):
    root, first, second = two_versions
    registry = _open(root)
    store = VersionStore(root)
    entry = store.activate(second, reason="better silhouette", key=key_id("secret-key"))
    assert entry["from"] == first and entry["to"] == second and entry["reason"] == "better silhouette"
    assert entry["key_id"].startswith("key-") and "secret-key" not in (root / "history.jsonl").read_text()
    assert registry.refresh() is True
    assert registry.get().version == second
    assert registry.refresh() is False  # nothing changed: a stat only


def test_rollback_goes_back_to_the_previous_active_version(two_versions):
    root, first, second = two_versions
    store = VersionStore(root)
    store.activate(second)
    rolled = store.rollback(key="key-x")
    assert rolled["to"] == first and store.active_version() == first
    assert "rollback" in rolled["reason"]
    assert [e["to"] for e in store.history()][-2:] == [second, first]


def test_rollback_skips_entries_from_a_version_to_itself_left_by_older_releases(two_versions):
    root, first, second = two_versions
    store = VersionStore(root)
    store.activate(second)
    # What re-activating the active version used to record.
    line = {"at": "2025-01-01T00:00:00.000+00:00", "from": second, "to": second, "reason": "again", "key_id": None}
    with (root / "history.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")
    assert store.rollback()["to"] == first


def test_delete_refuses_the_active_version(two_versions):
    root, first, second = two_versions
    store = VersionStore(root)
    with pytest.raises(VersionConflict, match="is active"):
        store.delete(first)
    store.delete(second)
    assert store.versions() == [first]
    with pytest.raises(UnknownModelVersion):
        store.delete(second)


def test_unusable_version_is_listed_with_its_reason_and_cannot_be_activated(two_versions):
    root, _, second = two_versions
    (root / second / "scaler.pkl").write_bytes(b"tampered")
    registry = _open(root)
    entry = next(e for e in registry.versions() if e["version"] == second)
    assert entry["usable"] is False and "scaler.pkl does not match" in entry["reason"]
    with pytest.raises(VersionConflict, match="unusable"):
        VersionStore(root).activate(second)


def test_active_version_with_a_bad_signature_means_not_ready(two_versions):
    root, _, _ = two_versions
    registry = ModelRegistry.open(
        root, auto_train=False, data_path=Path("x"), processed_dir=Path("x"), signing_key=b"a-key"
    )
    assert not registry.ready and "not signed" in registry.reason
    with pytest.raises(ModelNotReady):
        registry.get()


_TRAINER = """
import sys
from app.models.versions.artifacts import save_model
from app.models.versions.store import load_model
from app.models.model import SegmentationModel
from app.models.versions.store import VersionStore
root, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
model = load_model(root)
store = VersionStore(__import__("pathlib").Path(root))
for i in range(count):
    version = f"20990101.000000.{i:06d}-{tag}"
    copy = SegmentationModel(model.features, model.mean, model.scale, model.cluster_centers, model.segments,
                             {**model.info, "version": version}, (model.scaler, model.kmeans))
    save_model(copy, root)
    store.activate(version, reason="race test")
"""


@pytest.mark.slow
def test_concurrent_trainers_and_loaders_never_see_a_false_failure(model_dir, tmp_path):
    root = tmp_path / "models_artifacts"
    shutil.copytree(model_dir, root)
    trainers = [
        subprocess.Popen([sys.executable, "-c", _TRAINER, str(root), f"t{n}", "15"], cwd=PROJECT_ROOT) for n in range(3)
    ]
    loads, failures = [0], []

    def loader() -> None:
        while any(t.poll() is None for t in trainers) or loads[0] < 1000:
            try:
                load_model(root)
            except Exception as exc:
                failures.append(repr(exc))
            loads[0] += 1

    threads = [threading.Thread(target=loader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert [t.wait(timeout=60) for t in trainers] == [0, 0, 0]
    assert loads[0] >= 1000
    assert failures == []
    assert len(VersionStore(root).versions()) == 1 + 45


def test_read_only_folder_still_serves(two_versions, monkeypatch):
    root, first, _ = two_versions

    def refuse(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(VersionStore, "prepare", refuse)
    registry = _open(root)
    assert registry.ready and registry.get().version == first


def test_not_ready_reasons_carry_no_absolute_paths(tmp_path):
    registry = ModelRegistry.open(
        tmp_path / "m", auto_train=True, data_path=tmp_path / "missing.csv", processed_dir=tmp_path / "p"
    )
    assert not registry.ready
    assert "missing.csv" in registry.reason and str(tmp_path) not in registry.reason


def _age(root: Path) -> None:
    """Date every version's files an hour back, like versions trained earlier (files just written are re-hashed)."""
    hour_ago = time.time() - 3600
    for path in root.glob("*/*"):
        os.utime(path, (hour_ago, hour_ago))


@pytest.fixture
def hashed(monkeypatch) -> list[str]:
    """The files read to compute their sha256, in order."""
    calls: list[str] = []
    real = hashing._digest

    def counting(handle):
        calls.append(Path(handle.name).name)
        return real(handle)

    monkeypatch.setattr(hashing, "_digest", counting)
    return calls


def test_a_second_listing_hashes_nothing(two_versions, hashed):
    root, _, _ = two_versions
    _age(root)
    registry = ModelRegistry(VersionStore(root))
    listed = registry.versions()
    assert sorted(hashed) == sorted(["kmeans_model.pkl", "scaler.pkl", "model_info.json"] * 2)
    hashed.clear()

    assert registry.versions() == listed
    assert hashed == []


def test_loading_hashes_every_file_even_after_a_listing(two_versions, hashed):
    root, first, _ = two_versions
    _age(root)
    store = VersionStore(root)
    ModelRegistry(store).versions()
    hashed.clear()
    model = store.load(first)
    assert sorted(hashed) == ["kmeans_model.pkl", "model_info.json", "scaler.pkl"]
    hashed.clear()
    assert model.kmeans is not None  # the pickles are checked once more, right before unpickling
    assert sorted(hashed) == ["kmeans_model.pkl", "scaler.pkl"]


@pytest.mark.parametrize("change", ["same size, new mtime", "new size, old mtime"])
def test_a_file_altered_after_a_listing_is_unusable_in_the_next(two_versions, change):
    root, first, second = two_versions
    _age(root)
    registry = ModelRegistry(VersionStore(root))
    assert all(entry["usable"] for entry in registry.versions())
    path = root / second / "kmeans_model.pkl"
    stat = path.stat()
    content = path.read_bytes()
    if change == "same size, new mtime":
        path.write_bytes(content[:-2] + bytes([content[-2] ^ 1]) + content[-1:])
    else:
        path.write_bytes(content + b"\0")
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    entries = {entry["version"]: entry for entry in registry.versions()}
    assert entries[first]["usable"]
    assert entries[second]["usable"] is False
    # The same words as a check that hashes everything.
    assert entries[second]["reason"] == VersionStore(root).check(second, reuse_digests=False)
    assert entries[second]["reason"].startswith(f"{second}/kmeans_model.pkl does not match the sha256")


def test_activation_hashes_the_files_again(two_versions):
    root, _, second = two_versions
    _age(root)
    store = VersionStore(root)
    assert store.check(second) is None
    # An edit that keeps the size and puts the mtime back: only reading the file can tell.
    path = root / second / "scaler.pkl"
    stat = path.stat()
    content = path.read_bytes()
    path.write_bytes(content[:-2] + bytes([content[-2] ^ 1]) + content[-1:])
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(VersionConflict, match=r"scaler\.pkl does not match the sha256"):
        store.activate(second)
