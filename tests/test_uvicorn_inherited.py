"""The test-server wrapper hands uvicorn an inherited TCP socket as a TCP socket (so TCP_NODELAY gets set)."""

import socket

from tests.uvicorn_inherited import _from_inherited_fd


def test_an_inherited_listener_keeps_its_tcp_family():
    # uvicorn asks for AF_UNIX, whatever the descriptor really is.
    with (
        socket.create_server(("127.0.0.1", 0)) as listener,
        _from_inherited_fd(listener.fileno(), socket.AF_UNIX, socket.SOCK_STREAM) as inherited,
    ):
        assert inherited.family == socket.AF_INET
        assert inherited.type == socket.SOCK_STREAM
        assert inherited.getsockname() == listener.getsockname()
