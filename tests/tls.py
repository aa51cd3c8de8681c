"""TLS for live tests: a self-signed certificate made with the openssl command, and a small TLS-terminating proxy."""

import asyncio
import contextlib
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.tools import need_tool


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost, its key, and a client context that trusts it."""

    certfile: Path
    keyfile: Path

    def client_context(self) -> ssl.SSLContext:
        """A client context that verifies servers against this certificate alone."""
        return ssl.create_default_context(cafile=str(self.certfile))

    def server_context(self) -> ssl.SSLContext:
        """A server context presenting this certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certfile, self.keyfile)
        return context


def self_signed_certificate(folder: Path) -> Certificate:
    """Generate a one-day self-signed certificate in `folder` (the openssl command must be installed)."""
    openssl = need_tool("openssl", "openssl")
    certificate = Certificate(folder / "cert.pem", folder / "key.pem")
    command = [
        openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-keyout", str(certificate.keyfile), "-out", str(certificate.certfile),
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    return certificate


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65_536):
            writer.write(data)
            await writer.drain()


class TlsTerminatingProxy:
    """Accept HTTPS on 127.0.0.1 and forward each request over plain HTTP, as nginx with `proxy_set_header` would.

    It connects to the backend from `source` (another loopback address, so the backend can trust it alone),
    replaces any X-Forwarded-For and X-Forwarded-Proto the client sent with its own, and serves one request per
    connection. Set `backend_port` before the first request.
    """

    def __init__(self, certificate: Certificate, *, source: str = "127.0.0.2") -> None:
        self.context = certificate.server_context()
        self.source = source
        self.backend_port: int | None = None
        self.port: int | None = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @contextlib.contextmanager
    def running(self) -> Iterator["TlsTerminatingProxy"]:
        """Serve in a background thread until the block ends."""
        self.thread.start()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.context), self.loop
        ).result(10)
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:

            async def stop() -> None:
                server.close()
                await server.wait_closed()

            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *lines = head[:-4].split(b"\r\n")
            peer = writer.get_extra_info("peername")[0].encode()
            dropped = (b"x-forwarded-for:", b"x-forwarded-proto:", b"connection:")
            kept = [line for line in lines if not line.lower().startswith(dropped)]
            forwarded = [b"X-Forwarded-For: " + peer, b"X-Forwarded-Proto: https", b"Connection: close"]
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.backend_port, local_addr=(self.source, 0)
            )
            upstream_writer.write(b"\r\n".join([request_line, *kept, *forwarded]) + b"\r\n\r\n")
            upload = asyncio.create_task(_pipe(reader, upstream_writer))
            await _pipe(upstream_reader, writer)
            upload.cancel()
            upstream_writer.close()
        finally:
            writer.close()
