"""Labelled files scored on the /score page, kept on disk for a while (and up to a total size) for download."""

import re
import secrets
import time
from pathlib import Path

_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_SEPARATOR = "--"


def result_path(results_dir: Path, *, name: str) -> tuple[str, Path]:
    """A fresh token and the path to write its labelled file to (the name is a safe base name)."""
    results_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    return token, results_dir / f"{token}{_SEPARATOR}{name}_segmented.csv"


def find_result(results_dir: Path, token: str) -> Path | None:
    """The labelled file for a token, or None when it is unknown or expired."""
    if not _TOKEN.match(token) or not results_dir.is_dir():
        return None
    return next(iter(results_dir.glob(f"{token}{_SEPARATOR}*_segmented.csv")), None)


def download_name(path: Path) -> str:
    """The file name a download is offered under."""
    return path.name.split(_SEPARATOR, 1)[1]


def purge_results(results_dir: Path, *, max_age_seconds: float, now: float | None = None) -> int:
    """Delete labelled files older than the age limit; returns how many went."""
    if not results_dir.is_dir():
        return 0
    cutoff = (now if now is not None else time.time()) - max_age_seconds
    removed = 0
    for path in results_dir.glob(f"*{_SEPARATOR}*_segmented.csv"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # another worker purged it first
            continue
    return removed


def _kept(results_dir: Path) -> list[tuple[float, int, Path]]:
    """Every labelled file kept, as (modified time, size, path), oldest first."""
    kept = []
    for path in results_dir.glob(f"*{_SEPARATOR}*_segmented.csv"):
        try:
            stat = path.stat()
        except FileNotFoundError:  # purged by another request meanwhile
            continue
        kept.append((stat.st_mtime, stat.st_size, path))
    return sorted(kept)


def make_room(results_dir: Path, *, keep: Path, max_bytes: int) -> bool:
    """Delete the oldest other labelled files until `keep` and the rest fit in `max_bytes`.

    False, with nothing deleted, when `keep` alone is larger than `max_bytes`. Files being written are not counted:
    they are not results until they are complete.
    """
    size = keep.stat().st_size
    if size > max_bytes:
        return False
    others = [(mtime, used, path) for mtime, used, path in _kept(results_dir) if path != keep]
    total = size + sum(used for _, used, _ in others)
    for _, used, path in others:
        if total <= max_bytes:
            break
        path.unlink(missing_ok=True)
        total -= used
    return True
