"""A JSON response rendered with orjson, for large payloads."""

from typing import Any

import orjson
from starlette.responses import JSONResponse


class FastJSONResponse(JSONResponse):
    """JSONResponse that renders with orjson: several times faster on big prediction batches."""

    def render(self, content: Any) -> bytes:
        """Serialise content to JSON bytes."""
        return orjson.dumps(content)
