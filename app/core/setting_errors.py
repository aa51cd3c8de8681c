"""Refused settings told as one line each, naming the variable, never quoting a secret."""

import sys
from typing import get_args

from pydantic import SecretStr, ValidationError

from app.core.config import Settings, get_settings


def _holds_secret(annotation: object) -> bool:
    return annotation is SecretStr or any(_holds_secret(argument) for argument in get_args(annotation))


def settings_problems(error: ValidationError) -> list[str]:
    """One line per refused setting, naming its variable and the problem; a secret's value is never quoted."""
    messages: dict[str, list[str]] = {}
    given: dict[str, list[str]] = {}
    for item in error.errors():
        field = Settings.model_fields.get(str(item["loc"][0])) if item["loc"] else None
        # A check across settings (JWT_ALGORITHM=RS256 and its key files) has no field and names them itself.
        name = str(item["loc"][0]).upper() if field is not None else ""
        messages.setdefault(name, []).append(item["msg"].removeprefix("Value error, "))
        value = item.get("input")
        if field is not None and not _holds_secret(field.annotation) and isinstance(value, str):
            given.setdefault(name, []).append(repr(value[:80]))
    lines = []
    for name, texts in messages.items():
        line = f"invalid setting{' ' + name if name else ''}: {'; '.join(dict.fromkeys(texts))}"
        lines.append(f"{line} (got {', '.join(dict.fromkeys(given[name]))})" if name in given else line)
    return lines


def settings_or_exit(code: int = 2) -> Settings:
    """The process-wide settings, or exit with `code` and one line per refused setting on stderr, no traceback."""
    try:
        return get_settings()
    except ValidationError as error:
        for line in settings_problems(error):
            print(line, file=sys.stderr)
        raise SystemExit(code) from None
