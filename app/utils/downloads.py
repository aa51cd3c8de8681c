"""Names files are offered under: letters of any script kept, and the Content-Disposition header that carries them."""

import re
import unicodedata
from urllib.parse import quote

_RUNS = re.compile(r"_+")
_ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _kept(character: str) -> bool:
    # Letters, digits and combining marks of any script (Devanagari and Arabic vowel signs are marks), and - _ .:
    # never a path separator, a quote, a control or format character (a right-to-left override) or a space.
    return unicodedata.category(character)[0] in "LNM" or character in "-_."


def safe_name(text: str, *, limit: int = 100, max_bytes: int = 150) -> str:
    """`text` as a file name part: letters and digits of any script, - _ and . kept, anything else one `_`.

    At most `limit` characters and `max_bytes` UTF-8 bytes (a file system takes 255 bytes a name, with room for
    the prefix and suffix the name gets), no `.` or `_` at either end; empty when nothing is left.
    """
    text = unicodedata.normalize("NFC", text)
    name = _RUNS.sub("_", "".join(character if _kept(character) else "_" for character in text)).strip("._")
    name = name[:limit]
    while len(name.encode()) > max_bytes:
        name = name[:-1]
    return name.rstrip("._")


def _ascii(stem: str) -> str:
    """A name part in ASCII for clients that do not read filename*: accents dropped, other letters as `_`."""
    decomposed = "".join(c for c in unicodedata.normalize("NFKD", stem) if not unicodedata.combining(c))
    return _RUNS.sub("_", _ASCII_UNSAFE.sub("_", decomposed)).strip("._")


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """An attachment's (or an inline document's) Content-Disposition for `filename`, any script.

    `filename=` is the ASCII fallback every client reads; a name with other letters is given whole in RFC 5987's
    `filename*=UTF-8''…` as well, which browsers prefer. Only the characters `safe_name` keeps are sent.
    """
    kind = "inline" if inline else "attachment"
    stem, dot, extension = filename.rpartition(".")
    stem, extension = (stem, extension) if dot else (filename, "")
    stem, extension = safe_name(stem, limit=255, max_bytes=1024) or "download", safe_name(extension, limit=16)
    name = f"{stem}.{extension}" if extension else stem
    ascii_stem, ascii_extension = _ascii(stem) or "download", _ascii(extension)
    fallback = f"{ascii_stem}.{ascii_extension}" if ascii_extension else ascii_stem
    if name == fallback:
        return f'{kind}; filename="{name}"'
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
