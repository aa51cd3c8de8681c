"""Process memory settings that only the C library can change."""

import ctypes
import sys

# glibc's mallopt() parameter for the number of malloc arenas (malloc.h).
M_ARENA_MAX = -8


def limit_malloc_arenas(count: int) -> bool:
    """Let glibc's malloc use at most `count` arenas from now on; False where that cannot be set (not glibc).

    glibc gives threads their own arenas (up to 8 per core), and memory freed in one arena is rarely handed
    back: a server whose worker threads each had a busy moment keeps the high-water mark of every arena.
    """
    if count < 1 or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process already uses
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return mallopt(M_ARENA_MAX, count) == 1
