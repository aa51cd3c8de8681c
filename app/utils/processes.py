"""Processes of this host."""

import os


def pid_alive(pid: int) -> bool:
    """Whether a process of this host has the id `pid`: another user's process counts, and so does a reused id."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True
