"""Quoting untrusted text safely: cut to a bound, control characters made visible."""

import re
import unicodedata

ELLIPSIS = "…"
# C0 controls, DEL, C1 controls, Unicode line and paragraph separators and the bidirectional overrides: any of
# them can start a fake line or make a terminal or log viewer show something other than what was written.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# White space as both JSON Schema's \s (ECMA-262) and Python's str.isspace() read it. Schema patterns spell it out
# as SPACE_CLASS because validators and fuzzers differ on \s (some read it as ASCII only), and the server trims
# exactly these, so a value the schema takes is never refused for what the trim took away.
SPACES = "\t\n\x0b\x0c\r \xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
SPACE_CLASS = r"\t\n\x0b\x0c\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


def clip(text: str, limit: int) -> str:
    """The text itself when it has at most `limit` characters, else its start and an ellipsis, `limit` in all."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def noun(count: int, singular: str, plural: str | None = None) -> str:
    """The noun as a count of it takes it: "customer" for 1, "customers" for 0, 2 or 1,000."""
    return singular if count == 1 else plural or f"{singular}s"


def as_sentence(text: str) -> str:
    """Text as a sentence for a page: its first letter a capital, a full stop at the end."""
    text = text.strip()
    if not text:
        return text
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """The text with every control character written as a visible escape (a newline becomes backslash-n)."""
    if text.isascii() and text.isprintable():  # the common case, in C: no ASCII control character, nothing else
        return text
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def safe_text(text: str, limit: int) -> str:
    """Control characters escaped, then cut to `limit` characters; never looks at more than `limit` of the input."""
    return clip(escape_controls(text[: limit + 1]), limit)


# Zero-width joiners hold Persian and Indic spellings and emoji sequences together: fine between two characters.
JOINERS = frozenset("\u200c\u200d")


def invisible_char(text: str, *, odd_spaces: bool = True) -> str | None:
    """The first invisible character of a name (a format character, Unicode Cf, and with `odd_spaces` a space other
    than U+0020), or None; a joiner between two visible characters is not one."""
    for at, char in enumerate(text):
        category = unicodedata.category(char)
        if char in JOINERS and 0 < at < len(text) - 1 and not (text[at - 1].isspace() or text[at + 1].isspace()):
            continue
        if category == "Cf" or (odd_spaces and category[0] == "Z" and char != " "):
            return char
    return None


# Controls (tab, CR, LF, NUL...), and the line and paragraph separators: each can start a fake line.
_LINE_BREAKING = frozenset({"Cc", "Zl", "Zp"})


def hidden_or_line_breaking_char(text: str) -> str | None:
    """The first control character, line or paragraph separator, or invisible character (`invisible_char` without
    odd spaces) of one line of text, or None."""
    char = next((char for char in text if unicodedata.category(char) in _LINE_BREAKING), None)
    return char or invisible_char(text, odd_spaces=False)


def one_line_problem(text: str) -> str | None:
    """Why `text` is not one line of visible text (naming the character that breaks it), or None when it is."""
    char = hidden_or_line_breaking_char(text)
    if char is None:
        return None
    return (
        f"must be one line of visible text: no line break, tab, control or invisible character (found "
        f"U+{ord(char):04X})"
    )
