"""The load driver's one retry: a request crossed by a server closing its kept-alive connection is sent again."""

import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from benchmarks.load import Call, drive

CALLS = [Call(1.0, "POST", "/api/v1/predict", b'{"annual_income": 60, "spending_score": 50}')]


def _read_request(stream) -> bool:
    """Read one HTTP request; False when the client closed the connection."""
    length = 0
    while True:
        line = stream.readline()
        if not line:
            return False
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    stream.read(length)
    return True


@contextmanager
def _server(answers_per_connection: int) -> Iterator[str]:
    """A server that answers this many requests on a connection, then reads one more and closes without answering."""

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            for _ in range(answers_per_connection):
                if not _read_request(self.rfile):
                    return
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                self.wfile.flush()
            _read_request(self.rfile)
            self.request.shutdown(socket.SHUT_RDWR)

    socketserver.ThreadingTCPServer.daemon_threads = True
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()


def test_a_request_crossed_by_a_closing_kept_alive_connection_is_sent_once_more():
    with _server(answers_per_connection=3) as url:
        stats = drive(url, CALLS, connections=2, seconds=30, max_requests=40, retry_stale=True)
    assert stats.failed == 0
    assert stats.statuses == {200: 40}
    assert stats.retried > 0  # every fourth request on a connection met the close


def test_without_the_retry_those_requests_count_as_lost():
    with _server(answers_per_connection=3) as url:
        stats = drive(url, CALLS, connections=2, seconds=30, max_requests=40, retry_stale=False)
    assert stats.failed > 0 and stats.retried == 0
    assert stats.requests + stats.failed == 40


def test_a_fresh_connection_closed_before_answering_is_lost_even_with_the_retry():
    # Only a reused connection can be stale: a new one that dies unanswered is a real failure.
    with _server(answers_per_connection=0) as url:
        stats = drive(url, CALLS, connections=1, seconds=30, max_requests=5, retry_stale=True)
    assert stats.failed == 5 and stats.retried == 0 and stats.requests == 0
