"""The malloc arena cap: applied on glibc, refused where it means nothing."""

import ctypes
import platform

import pytest

from app.utils.memory import limit_malloc_arenas

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_arena_cap_is_applied_on_glibc():
    assert limit_malloc_arenas(2) is True
    assert hasattr(ctypes.CDLL(None), "mallopt")


def test_zero_leaves_the_allocator_alone():
    assert limit_malloc_arenas(0) is False
