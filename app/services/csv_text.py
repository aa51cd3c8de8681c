"""The first check of any uploaded CSV: is it text at all (not empty, not binary, UTF-8)?

Kept apart from the scoring service so that training uploads can use it without importing pyarrow.
"""

from app.core.errors import InvalidRequest

# Bytes a caller reads from the start of a file to check it and find its header line.
HEAD_BYTES = 64 * 1024


def decode_head(head: bytes) -> str:
    """The first bytes of a file as text (BOM dropped); InvalidRequest when empty, binary or not UTF-8."""
    if not head.strip(b"\xef\xbb\xbf \t\r\n"):
        raise InvalidRequest("the file is empty: send a CSV file with a header row and customer rows")
    if b"\x00" in head:
        raise InvalidRequest("the file is not CSV text (it contains binary data); send a UTF-8 CSV file")
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the head is fine; anything earlier is not UTF-8.
        if exc.start < len(head) - 4:
            raise InvalidRequest("the file is not UTF-8 text; save it as UTF-8 CSV") from None
        return head[: exc.start].decode("utf-8-sig")
