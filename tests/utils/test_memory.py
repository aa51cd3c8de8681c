"""The malloc settings: applied on glibc, refused where they mean nothing. The collector tuning: undone by the last
app that leaves."""

import ctypes
import gc
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from app.utils.memory import TUNED_GC_THRESHOLD, limit_malloc_arenas, reuse_freed_blocks, tuned_gc

ROOT = Path(__file__).resolve().parents[2]
GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_arena_cap_is_applied_on_glibc():
    assert limit_malloc_arenas(2) is True
    assert hasattr(ctypes.CDLL(None), "mallopt")


def test_zero_leaves_the_allocator_alone():
    assert limit_malloc_arenas(0) is False


# mallinfo2's fields (malloc.h): hblkhd is the bytes held in blocks mapped on their own.
class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _mapped_bytes_while_holding(megabytes: int, setup: str = "", env: dict[str, str] | None = None) -> int:
    """In a fresh process (malloc settings last for a process): the bytes mapped on their own while a buffer of
    `megabytes` is alive, after running `setup`."""
    script = f"""
import ctypes
from tests.utils.test_memory import _Mallinfo2
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = _Mallinfo2
{setup}
held = bytearray({megabytes} << 20)
print(libc.mallinfo2().hblkhd)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT, env=env
    )
    return int(result.stdout.split()[-1])


REUSE = (
    "from app.utils.memory import STREAMING_REUSE_BYTES, reuse_freed_blocks\n"
    "assert reuse_freed_blocks(STREAMING_REUSE_BYTES)"
)


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_reusing_freed_blocks_serves_large_buffers_from_the_heap():
    assert _mapped_bytes_while_holding(4) >= 4 << 20  # glibc maps a block this size on its own
    assert _mapped_bytes_while_holding(4, REUSE) < 4 << 20


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
@pytest.mark.parametrize(("reuse_mb", "mapped"), [(None, False), ("0", True), ("8", False), ("2", True)])
def test_the_app_serves_a_batch_sized_buffer_from_the_heap_unless_told_not_to(tmp_path, reuse_mb, mapped):
    # A 10,000-row batch's answer is ~7 MB: with glibc's sliding threshold it is mapped afresh (and faulted in page
    # by page) again and again; MALLOC_REUSE_MB (default 32) serves blocks up to that size from the heap.
    env = {**os.environ, "MODEL_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    if reuse_mb is not None:
        env["MALLOC_REUSE_MB"] = reuse_mb
    setup = "from app.main import create_app\ncreate_app()"
    assert (_mapped_bytes_while_holding(4, setup, env) >= 4 << 20) is mapped


def test_reusing_no_blocks_leaves_the_allocator_alone():
    assert reuse_freed_blocks(0) is False


def test_tuned_gc_is_undone_when_the_last_user_leaves():
    found = gc.get_threshold(), gc.get_freeze_count()
    with tuned_gc():
        with tuned_gc():
            assert gc.get_threshold() == TUNED_GC_THRESHOLD
            assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == TUNED_GC_THRESHOLD
    assert (gc.get_threshold(), gc.get_freeze_count()) == found


def test_tuned_gc_leaves_frozen_what_was_frozen_before_it():
    gc.freeze()
    try:
        with tuned_gc():
            pass
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
