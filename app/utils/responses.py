"""Responses: JSON rendered with orjson for large payloads, and a temporary file that is deleted once sent."""

from pathlib import Path
from typing import Any

import orjson
from starlette.responses import FileResponse, JSONResponse
from starlette.types import Receive, Scope, Send


class FastJSONResponse(JSONResponse):
    """JSONResponse that renders with orjson: several times faster on big prediction batches."""

    def render(self, content: Any) -> bytes:
        """Serialise content to JSON bytes."""
        return orjson.dumps(content)


class TemporaryFileResponse(FileResponse):
    """A file sent once and then deleted, also when the client leaves before or while it is sent.

    The deletion sits around the whole send: a generator's `finally` or a background task does not run when
    the server cancels a response whose client has gone before its first byte.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            Path(self.path).unlink(missing_ok=True)
