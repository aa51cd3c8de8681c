"""File hashing helpers, with a bounded memory of the digests of files that have not changed since."""

import hashlib
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import BinaryIO

# Files whose digest is remembered (a version has four): the least recently used are forgotten first.
CACHE_ENTRIES = 2048
# File systems stamp mtimes with a coarse clock (a few ms, up to 2 s on FAT): a file changed again within that
# long keeps its stamp. A digest is remembered only once its file is older than this, as git does for its index.
RACY_SECONDS = 2.0

# path -> (size, mtime_ns, sha256) of the file when it was hashed.
_digests: OrderedDict[str, tuple[int, int, str]] = OrderedDict()
_lock = threading.Lock()


def _digest(handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: handle.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path: str | Path, *, reuse: bool = False) -> str:
    """Return the hex sha256 of a file, read in chunks; with `reuse`, the digest remembered for it when its size
    and mtime are what they were when it was last hashed."""
    key = str(Path(path).absolute())
    if reuse:
        try:
            status = os.stat(key)
        except OSError:
            status = None  # opening it below raises the error a caller expects
        with _lock:
            known = _digests.get(key)
            if status is not None and known is not None and known[:2] == (status.st_size, status.st_mtime_ns):
                _digests.move_to_end(key)
                return known[2]
    with open(key, "rb") as handle:
        before = os.fstat(handle.fileno())
        digest = _digest(handle)
        after = os.fstat(handle.fileno())
    stamp = (before.st_size, before.st_mtime_ns)
    # Not remembered when the file changed while it was read, or may still change within its mtime's tick.
    if stamp == (after.st_size, after.st_mtime_ns) and time.time() - before.st_mtime > RACY_SECONDS:
        with _lock:
            _digests[key] = (*stamp, digest)
            _digests.move_to_end(key)
            while len(_digests) > CACHE_ENTRIES:
                _digests.popitem(last=False)
    return digest
