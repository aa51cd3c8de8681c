"""A temporary file response deletes its file once sent, and when the client is gone before or while it is sent."""

import asyncio

import pytest

from app.utils.responses import TemporaryFileResponse

SCOPE = {"type": "http", "method": "GET", "path": "/", "headers": [], "asgi": {"spec_version": "2.4"}}


async def _nothing_more() -> dict:
    return {"type": "http.disconnect"}


def test_the_file_is_sent_then_deleted(tmp_path):
    path = tmp_path / "scored.csv"
    path.write_bytes(b"a,b\n1,2\n")
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(TemporaryFileResponse(path, media_type="text/csv")(SCOPE, _nothing_more, send))
    assert b"".join(message.get("body", b"") for message in sent) == b"a,b\n1,2\n"
    assert not path.exists()


@pytest.mark.parametrize("fails_at", [0, 1], ids=["before the first byte", "while sending the body"])
def test_the_file_is_deleted_when_the_client_is_gone(tmp_path, fails_at):
    path = tmp_path / "scored.csv"
    path.write_bytes(b"x" * 200_000)
    calls = 0

    async def send(message: dict) -> None:
        nonlocal calls
        calls += 1
        if calls > fails_at:
            raise OSError("the client closed the connection")

    with pytest.raises(OSError):
        asyncio.run(TemporaryFileResponse(path, media_type="text/csv")(SCOPE, _nothing_more, send))
    assert not path.exists()
