"""Training processes that cannot be created, as under a process limit: for the tests of a job that cannot start."""

import errno

import pytest


def refuse_trainers(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Make creating a training process fail (EAGAIN) while the list returned is not empty; clear it, and processes
    start as the Popen in place before (a test's stand-in) starts them."""
    from app.services.training import launch

    started, refused = launch.subprocess.Popen, [True]

    def no_process(*args: object, **kwargs: object) -> object:
        if refused:
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
        return started(*args, **kwargs)

    monkeypatch.setattr(launch.subprocess, "Popen", no_process)
    return refused
