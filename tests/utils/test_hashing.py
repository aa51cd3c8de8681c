"""sha256 of files, and the bounded memory of digests of files that have not changed."""

import hashlib
import os
import time
from collections import OrderedDict
from types import SimpleNamespace

from app.utils import hashing


def _old_file(path, content: bytes):
    path.write_bytes(content)
    hour_ago = time.time() - 3600
    os.utime(path, (hour_ago, hour_ago))
    return path


def test_sha256_file_matches_hashlib(tmp_path):
    path = _old_file(tmp_path / "data.bin", b"x" * 3_000_000)
    assert hashing.sha256_file(path) == hashlib.sha256(b"x" * 3_000_000).hexdigest()
    assert hashing.sha256_file(path, reuse=True) == hashing.sha256_file(path)


def test_the_memory_keeps_the_most_recently_used_files_only(tmp_path, monkeypatch):
    monkeypatch.setattr(hashing, "CACHE_ENTRIES", 3)
    monkeypatch.setattr(hashing, "_digests", OrderedDict())
    paths = [_old_file(tmp_path / f"{number}.bin", bytes([number])) for number in range(5)]
    for path in paths:
        hashing.sha256_file(path)
    assert list(hashing._digests) == [str(path) for path in paths[2:]]


def test_a_file_changed_within_the_last_seconds_is_not_remembered(tmp_path, monkeypatch):
    monkeypatch.setattr(hashing, "_digests", OrderedDict())
    path = tmp_path / "new.bin"
    path.write_bytes(b"fresh")
    # Hashed one second after its last change: a change within its mtime's clock tick could keep the same stamp.
    monkeypatch.setattr(hashing, "time", SimpleNamespace(time=lambda: path.stat().st_mtime + 1.0))
    hashing.sha256_file(path)
    assert str(path) not in hashing._digests
    monkeypatch.setattr(hashing, "time", SimpleNamespace(time=lambda: path.stat().st_mtime + 60.0))
    hashing.sha256_file(path)
    assert str(path) in hashing._digests
