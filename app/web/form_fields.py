"""Each form field once: a field sent twice (`-F activate=false -F activate=true`) is refused, never answered with
its last value as FastAPI's and Starlette's form parsing would."""

from collections.abc import Iterable

from app.core.errors import InvalidRequest
from app.utils.text import clip

# A field's name is client input: quoted at most this long.
MAX_QUOTED_CHARS = 64


def refuse_repeated_fields(names: Iterable[str]) -> None:
    """InvalidRequest (422) naming the first field that comes more than once among a form's `names`."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidRequest(
                f"the form sends the field {clip(name, MAX_QUOTED_CHARS)!r} more than once: send each field once"
            )
        seen.add(name)
