"""A CSV file cut into byte ranges that each start on a record, never inside a quoted value that spans lines.

Quote parity says whether a byte is inside quotes: in CSV a quote opens or closes a quoted value, and an escaped
quote inside one is doubled, so an odd count of quotes before a byte puts it inside a value. Each block's parity is
counted on the workers (one pass, in parallel); the client then walks from each block's first byte to the first line
start outside quotes, a few bytes on. A quote that never closes makes every later line start look quoted: the range
that holds it runs on to the end of the file, where the local engine's reader refuses it the same way.
"""

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

QUOTE, LF, CR = ord('"'), ord("\n"), ord("\r")
# Bytes counted per read: large enough to run at memory speed, small enough to stay out of the worker's memory.
COUNT_BYTES = 16 << 20
# Bytes looked at in the first step while walking to a record start (the usual record is found in it); each further
# step looks at twice as many, up to MAX_WALK_BYTES.
WALK_BYTES, MAX_WALK_BYTES = 4 << 10, 1 << 20


@dataclass(frozen=True)
class ByteRange:
    """One partition of a CSV file: its bytes [start, stop), and whether it holds the header (the first one)."""

    index: int
    start: int
    stop: int

    @property
    def first(self) -> bool:
        """Whether the range starts the file (it holds the header line)."""
        return self.start == 0


def quote_parity(path: str | Path, start: int, stop: int) -> int:
    """1 when the bytes [start, stop) of the file hold an odd number of quotes, else 0."""
    count = 0
    with open(path, "rb") as file:
        file.seek(start)
        left = stop - start
        while left > 0:
            piece = file.read(min(COUNT_BYTES, left))
            if not piece:
                break
            count += piece.count(b'"')
            left -= len(piece)
    return count & 1


def block_starts(size: int, block_bytes: int, *, body: int) -> list[int]:
    """The first byte of each block of about `block_bytes`: the first block holds the header, which ends at `body`."""
    return [0, *range(body + max(1, block_bytes), size, max(1, block_bytes))]


def record_start(file: BinaryIO, offset: int, in_quotes: bool, size: int) -> int:
    """The first line start at or after `offset` that is outside quotes (`in_quotes`: the state at `offset`); the
    file's size when there is none."""
    if offset <= 0:
        return 0
    file.seek(offset - 1)
    previous = file.read(1)
    position, quoted, walk = offset, in_quotes, WALK_BYTES
    while position < size:
        file.seek(position)
        # One byte more than the step: a CR at its end is a line end only when no LF follows.
        data = file.read(walk + 1)
        walk = min(2 * walk, MAX_WALK_BYTES)
        at_end = position + len(data) >= size
        step = len(data) if at_end else len(data) - 1
        window = np.frombuffer(data, np.uint8)
        # `offset` itself starts a line after a line end (not in the middle of a CRLF).
        at_line_start = previous == b"\n" or (previous == b"\r" and data[:1] != b"\n")
        if position == offset and at_line_start and not quoted:
            return offset
        lf, cr = window == LF, window == CR
        ends = lf[:step] | (cr[:step] & ~np.append(lf[1:], False)[:step])
        quotes = np.cumsum(window[:step] == QUOTE)
        # A line starts after each line end; it is outside quotes when the quotes before it, with the state at the
        # step's start, are even.
        outside = ends & ((quotes + quoted) % 2 == 0)
        found = np.flatnonzero(outside)
        if found.size:
            return min(position + int(found[0]) + 1, size)
        quoted ^= bool(quotes[-1] & 1) if step else False
        position += step
    return size


def record_ranges(path: str | Path, starts: list[int], parities: list[int], size: int) -> list[ByteRange]:
    """The non-empty byte ranges that begin at a record start at or after each block start (`parities`: each
    block's quote parity, counted by `quote_parity`)."""
    bounds = [0]
    quoted = bool(parities[0]) if parities else False
    with open(path, "rb") as file:
        for offset, parity in zip(starts[1:], parities[1:], strict=True):
            bounds.append(max(bounds[-1], record_start(file, offset, quoted, size)))
            quoted ^= bool(parity)
    bounds.append(size)
    ranges: list[ByteRange] = []
    for start, stop in itertools.pairwise(bounds):
        if stop > start or (not ranges and start == 0):
            ranges.append(ByteRange(index=len(ranges), start=start, stop=stop))
    return ranges


def file_record_ranges(path: str | Path, body: int, block_bytes: int, *, client: Any = None) -> list[ByteRange]:
    """A CSV file's record ranges of about `block_bytes` (the header ends at `body`): each block's quotes counted
    on the workers of a Dask `client` (one read of the file, in parallel), or here without one."""
    size = Path(path).stat().st_size
    starts = block_starts(size, block_bytes, body=body)
    stops = [*starts[1:], size]
    if client is None:
        parities = [quote_parity(path, start, stop) for start, stop in zip(starts, stops, strict=True)]
    else:
        parities = client.gather(client.map(quote_parity, [str(path)] * len(starts), starts, stops))
    return record_ranges(path, starts, parities, size)
