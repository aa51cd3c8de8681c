"""The test server helper: nothing can take the server's port between choosing it and serving on it."""

import contextlib
import os
import socket
import subprocess
import urllib.request

import pytest

from tests import live_server as helper


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="sockets are handed to uvicorn by descriptor on POSIX")
def test_port_cannot_be_taken_before_the_server_starts(model_dir, tmp_path, monkeypatch):
    real_popen = subprocess.Popen
    thieves: list[socket.socket] = []

    def steal_then_start(argv, **kwargs):
        # Another process on the machine binds the chosen port just before the server starts.
        with contextlib.suppress(OSError):  # already held for the server: nothing to steal
            thieves.append(socket.create_server(("127.0.0.1", int(kwargs["env"]["PORT"]))))
        return real_popen(argv, **kwargs)

    monkeypatch.setattr(helper.subprocess, "Popen", steal_then_start)
    try:
        env = {"MODEL_DIR": str(model_dir), "AUTO_TRAIN": "false"}
        with helper.live_server(env, tmp_path / "server.log", timeout=30) as server:
            health = urllib.request.urlopen(f"{server.url}/api/v1/health", timeout=10)
            assert health.status == 200
            health.close()
        assert thieves == []
    finally:
        for thief in thieves:
            thief.close()
