"""What an account's email address may be: one rule, for the request schemas and the users service alike."""

import re
import unicodedata

# One @, a dot after it, nothing else that could be a separator. The characters are checked one by one first.
EMAIL_PATTERN = re.compile(r"^[^@]+@[^@]+\.[^@]+$")
MAX_EMAIL_LENGTH = 254


def email_problem(value: str) -> str | None:
    """Why `value` cannot be an account's email address (None when it can).

    No whitespace, control, format or other invisible character (Unicode categories C* and Z*): a line break could
    start a mail header, and a zero-width space makes two addresses that look alike. ASCII only: a look-alike letter
    (the dotted `İ`, Cyrillic `а`) would make an account that reads as another's.
    """
    for char in value:
        if unicodedata.category(char)[0] in "CZ":
            return f"{value[:80]!r} holds a space, a control or an invisible character (U+{ord(char):04X})"
    if not value.isascii():
        return f"{value[:80]!r} holds a letter outside ASCII: use the address's plain ASCII form"
    if len(value) > MAX_EMAIL_LENGTH or not EMAIL_PATTERN.fullmatch(value):
        return f"{value[:80]!r} is not an email address"
    return None


def valid_email(value: str) -> str:
    """`value` when it may be an account's email address; ValueError saying why not (pydantic makes it a 422)."""
    problem = email_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value
