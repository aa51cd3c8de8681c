"""A small tmpfs to fill up, for the full-disk fault in tests and benchmarks/load.py (Linux, as root).

A tmpfs is what a root CI job can always mount (no loop device, no image file, no mkfs); it enforces its
size like any full disk: writes fail with ENOSPC.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PAGE = 4096
# What a training job writes besides its version: job.json (twice while it is replaced) and the job's log.
JOB_FILES_BYTES = 3 * PAGE


class NoSmallDisk(RuntimeError):
    """A small filesystem cannot be mounted on this machine (not Linux, not root, or mount refused)."""


@contextmanager
def small_disk(folder: Path, size_bytes: int) -> Iterator[Path]:
    """Mount a tmpfs of `size_bytes` on `folder` (created) for the block, and unmount it afterwards."""
    if sys.platform != "linux":
        raise NoSmallDisk("a small tmpfs needs Linux")
    if os.geteuid() != 0:
        raise NoSmallDisk("mounting a small tmpfs needs root (CI runs as root)")
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0755", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if mounted.returncode != 0:
        raise NoSmallDisk(f"mount -t tmpfs failed: {mounted.stderr.strip() or mounted.returncode}")
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True, timeout=30).returncode != 0:
            # A process that still holds a file there (a job being reaped) would block it: detach it instead.
            subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)


def free_bytes(folder: Path) -> int:
    """Bytes an unprivileged writer may still use on `folder`'s filesystem."""
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


def fill(folder: Path, *, leave: int) -> Path:
    """Take all but `leave` bytes of `folder`'s filesystem with one file; delete the file to free the space."""
    filler = folder / "filler"
    with filler.open("wb") as handle:
        os.posix_fallocate(handle.fileno(), 0, max(free_bytes(folder) - leave, PAGE))
    return filler


def disk_usage(folder: Path) -> int:
    """Bytes the files under `folder` take on disk, counted in whole pages as a tmpfs allocates them."""
    return sum(-(-path.stat().st_size // PAGE) * PAGE for path in folder.rglob("*") if path.is_file())


def fill_for_a_failing_save(disk: Path, version_folder: Path) -> Path:
    """Fill the disk so a training job has room for its own files but runs out half-way through a version like
    `version_folder`; return the filler, whose deletion frees the space again."""
    return fill(disk, leave=JOB_FILES_BYTES + disk_usage(version_folder) // 2)
