"""The activation mirror per segmentation: each segmentation's history lands under its name, once."""

import hashlib
import json
import time
from pathlib import Path

from sqlalchemy import select

from app.db.migrate import upgrade_database
from app.db.session import create_db_engine
from app.db.tables import ModelActivation
from app.models.segmentations.catalog import SPEC_FILE, SegmentationCatalog
from app.models.segmentations.spec import SegmentationSpec
from app.models.versions.store import HISTORY_FILE, VersionStore
from app.services.monitoring.activation_mirror import ActivationMirror, entry_key
from tests.db.reading import read_all

ENTRY = {"at": "2026-12-01T10:00:00+00:00", "from": None, "to": "v1", "reason": "first", "key_id": None}


def write_history(folder: Path, *entries: dict) -> None:
    """Append entries to a versions folder's history file, as an activation does."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / HISTORY_FILE).open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(entry) + "\n" for entry in entries)


def create(catalog: SegmentationCatalog, name: str) -> Path:
    """A segmentation's folder with its spec, as the catalog keeps it; returns its version store folder."""
    folder = catalog.folder(name)
    folder.mkdir(parents=True)
    (folder / SPEC_FILE).write_text(json.dumps(SegmentationSpec.from_dict({"name": name, "kind": "rfm"}).to_dict()))
    assert catalog.exists(name)
    return folder


def mirrored(url: str) -> list[tuple[str, str, str]]:
    rows = read_all(url, select(ModelActivation).order_by(ModelActivation.activated_at, ModelActivation.segmentation))
    return [(row.segmentation, row.to_version, row.reason) for row in rows]


def test_every_segmentations_history_is_mirrored_under_its_name(tmp_path):
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    upgrade_database(url)
    root = tmp_path / "models_artifacts"
    catalog = SegmentationCatalog(root)
    rfm = create(catalog, "rfm")
    write_history(root, ENTRY)
    # The same entry in another segmentation's history is another activation.
    write_history(rfm, ENTRY, ENTRY | {"at": "2026-12-02T10:00:00+00:00", "from": "v1", "to": "v2"})
    mirror = ActivationMirror(create_db_engine(url), VersionStore(root))

    assert mirror.sync()
    assert mirrored(url) == [("default", "v1", "first"), ("rfm", "v1", "first"), ("rfm", "v2", "first")]
    assert mirror.sync() and mirror.mirrored == 3

    write_history(create(catalog, "loyalty"), ENTRY | {"to": "l1", "reason": "new"})
    assert mirror.sync()
    assert ("loyalty", "l1", "new") in mirrored(url)
    assert len(mirrored(url)) == 4


def test_default_keys_are_those_mirrored_before_segmentations(tmp_path):
    # Rows mirrored before the upgrade carry the hash of the entry's fields alone: mirroring again adds nothing.
    legacy = hashlib.sha256(json.dumps([ENTRY[name] for name in ("at", "from", "to", "reason", "key_id")]).encode())
    assert entry_key(ENTRY) == legacy.hexdigest()
    assert entry_key(ENTRY, segmentation="rfm") != legacy.hexdigest()


def test_the_mirror_thread_follows_a_new_segmentations_history(tmp_path):
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    upgrade_database(url)
    root = tmp_path / "models_artifacts"
    write_history(root, ENTRY)
    mirror = ActivationMirror(create_db_engine(url), VersionStore(root), poll_seconds=0.05)
    mirror.start()
    try:
        write_history(create(SegmentationCatalog(root), "rfm"), ENTRY | {"to": "r1"})
        deadline = time.monotonic() + 20
        while ("rfm", "r1", "first") not in mirrored(url):
            assert time.monotonic() < deadline, "the mirror did not pick up the new segmentation's history"
            time.sleep(0.05)
    finally:
        mirror.stop()
    assert mirror.failed == 0
