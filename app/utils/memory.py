"""Process memory settings: glibc's malloc, and the cyclic garbage collector while an app runs."""

import ctypes
import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# glibc's mallopt() parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
# What a process streaming a file keeps for reuse (glibc takes up to 32 MB as its mmap threshold on 64 bits).
STREAMING_REUSE_BYTES = 32 << 20


def _mallopt(parameter: int, value: int) -> bool:
    """Set one of glibc's malloc parameters; False where that cannot be done (not Linux, not glibc)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process already uses
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return mallopt(parameter, value) == 1


def limit_malloc_arenas(count: int) -> bool:
    """Let glibc's malloc use at most `count` arenas from now on; False where that cannot be set (not glibc).

    glibc gives threads their own arenas (up to 8 per core), and memory freed in one arena is rarely handed
    back: a server whose worker threads each had a busy moment keeps the high-water mark of every arena.
    """
    return count >= 1 and _mallopt(M_ARENA_MAX, count)


def reuse_freed_blocks(size: int) -> bool:
    """Let glibc serve blocks up to `size` bytes from its heap and keep up to twice that freed at its top, rather
    than map each large block afresh and unmap it when freed; False where that cannot be set.

    For a process that streams a file in equal chunks, or a server answering large batches: every chunk's or
    request's buffers would otherwise be new pages the kernel zeroes and faults in one by one.
    """
    return size >= 1 and _mallopt(M_MMAP_THRESHOLD, size) and _mallopt(M_TRIM_THRESHOLD, 2 * size)


# Collect young objects every 50,000 net allocations rather than 700: a batch response allocates ~30,000 short-lived
# dicts that reference counting frees anyway. Measured in benchmarks/run.py.
TUNED_GC_THRESHOLD = (50_000, 20, 20)

_gc_lock = threading.Lock()
_gc_tuned_apps = 0
# What the first app to tune found: the thresholds, and whether nothing was frozen yet (then it may thaw).
_gc_found: tuple[tuple[int, ...], bool] = ((), False)


@contextmanager
def tuned_gc() -> Iterator[None]:
    """Freeze what is alive on entry and collect less often, until the last app that tuned the collector leaves.

    Frozen objects are never collected, garbage or not: an app that shut down and left them frozen would keep
    everything it had loaded (and every cycle not yet collected) for the rest of the process. So the first app in
    freezes, and the last one out thaws and puts the thresholds back; apps overlapping in one process (tests) share
    one freeze. What someone else froze before stays frozen: thawing it is theirs to decide.
    """
    global _gc_tuned_apps, _gc_found
    with _gc_lock:
        if _gc_tuned_apps == 0:
            _gc_found = (gc.get_threshold(), gc.get_freeze_count() == 0)
            # Garbage not yet collected (loading and training leave cycles) would be frozen with the rest.
            gc.collect()
            gc.freeze()
            gc.set_threshold(*TUNED_GC_THRESHOLD)
        _gc_tuned_apps += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_tuned_apps -= 1
            if _gc_tuned_apps == 0:
                threshold, thaw = _gc_found
                gc.set_threshold(*threshold)
                if thaw:
                    gc.unfreeze()
