"""The first check of any CSV file: is it text at all (not empty, not binary, UTF-8)?"""

# Bytes a caller reads from the start of a file to check it and find its header line.
HEAD_BYTES = 64 * 1024


class NotCsvText(ValueError):
    """The file is empty, binary or not UTF-8; `problem` says which, to follow "the file"."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def decode_head(head: bytes) -> str:
    """The first bytes of a file as text (BOM dropped); NotCsvText when empty, binary or not UTF-8."""
    if not head.strip(b"\xef\xbb\xbf \t\r\n"):
        raise NotCsvText("is empty")
    if b"\x00" in head:
        raise NotCsvText("is not a CSV text file (it contains binary data)")
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the head is fine; anything earlier is not UTF-8.
        if exc.start < len(head) - 4:
            raise NotCsvText("is not UTF-8 text") from None
        return head[: exc.start].decode("utf-8-sig")
