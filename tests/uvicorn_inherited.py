"""Run uvicorn's command line on an inherited listening socket (`--fd`) with that socket's real address family.

uvicorn opens `--fd` with `socket.fromfd(fd, AF_UNIX, ...)`, so asyncio takes a TCP socket for a Unix one and never
sets TCP_NODELAY on its connections: every response then waits about 40 ms for the client's delayed ACK, which
turns latency tests and benchmarks into measurements of the kernel's timers. Reading the family from the socket
itself gives the server what it gets when it binds a port.
"""

import os
import socket
import sys

import uvicorn.main


def _from_inherited_fd(fd: int, family: int, kind: int, proto: int = 0) -> socket.socket:
    """Like socket.fromfd, but the family, type and protocol come from the socket itself."""
    return socket.socket(fileno=os.dup(fd))


if __name__ == "__main__":
    socket.fromfd = _from_inherited_fd
    sys.exit(uvicorn.main.main())
