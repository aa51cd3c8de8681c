"""A CSV file cut into chunks of whole records, so that each can be parsed on its own (on another core).

A line end is a record's end when an even number of quotes comes before it in the chunk: quotes open and close
quoted fields in pairs (a quote inside one is doubled), so an odd count means the line end is inside a quoted
value. A stray quote in an unquoted field (not valid CSV, though Arrow reads it as text) can make the count lie:
the chunks of such a file fail to parse, or find no record end, and the build reads on with Arrow's serial reader.
"""

import os
from collections.abc import Iterator
from pathlib import Path

QUOTE = ord('"')
HEAD_BYTES = 1 << 20


class NoRecordEnd(Exception):
    """No record end within the allowed size from `offset`: the file is read serially from there."""

    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


def line_end_of(head: bytes) -> bytes:
    """The file's line end byte: `\\n` (also ending `\\r\\n` lines), or `\\r` for old Mac files."""
    return b"\r" if b"\n" not in head and b"\r" in head else b"\n"


def record_end(data: bytearray | bytes, end: int, newline: bytes = b"\n") -> int:
    """The position just after the last record end in `data[:end]` (which starts at a record's start); 0 if none."""
    cut = data.rfind(newline, 0, end)
    if cut < 0:
        return 0
    if data.find(b'"', 0, cut) < 0:  # the usual case: no quote at all, no need to count
        return cut + 1
    quotes = data.count(b'"', 0, cut)
    while quotes % 2:
        previous = data.rfind(newline, 0, cut)
        if previous < 0:
            return 0
        quotes -= data.count(b'"', previous, cut)
        cut = previous
    return cut + 1


def header_end(path: Path) -> int:
    """The offset of the first record after the header (the file's size when it has only a header)."""
    with open(path, "rb") as file:
        head = file.read(HEAD_BYTES)
    newline = line_end_of(head)
    position = 0
    while (found := head.find(newline, position)) >= 0:
        if head.count(b'"', 0, found) % 2 == 0:
            return found + 1
        position = found + 1
    return len(head)


def record_chunks(
    path: Path, start: int, chunk_bytes: int, *, limit: int | None = None
) -> Iterator[tuple[int, memoryview]]:
    """(offset, bytes) of about `chunk_bytes` of whole records each, from `start` to the end of the file.

    Each chunk is read at the offset where the last one's records ended (the partial record after them is read
    again, rather than copied over). A chunk doubles while it holds no record end; past `limit` bytes (default 16
    chunks) NoRecordEnd is raised.
    """
    limit = limit or 16 * chunk_bytes
    with open(path, "rb") as file:
        newline = line_end_of(file.read(HEAD_BYTES))
        size = os.fstat(file.fileno()).st_size
        offset, want = start, chunk_bytes
        while offset < size:
            data = os.pread(file.fileno(), want, offset)
            if not data:
                return
            cut = len(data) if offset + len(data) >= size else record_end(data, len(data), newline)
            if not cut:
                if want >= limit:
                    raise NoRecordEnd(offset)
                want *= 2
                continue
            yield offset, memoryview(data)[:cut]
            offset, want = offset + cut, chunk_bytes
