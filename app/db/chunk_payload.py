"""How a `prediction_chunks` row's payload is laid out, and reading it back (the writer's half, which builds it
from a request's chunk, is app/services/monitoring/chunk_codec.py).

The payload is `MAGIC`, the header's length (uint32, little-endian), an orjson header
`{"rows": n, "columns": [[name, dtype, shape], ...]}`, then each column's raw C-order bytes in the header's order
(numpy dtypes in explicit byte order: "<f8", "<i8", "|b1"). Inputs are float64 of shape (rows, features), in the
row's `features` order. A column left out (challenger_segment_id without a shadow challenger) is null in every row.
Customer ids are not in the payload but in their own column, an orjson list of text or null, so that finding a
customer's newest prediction reads them alone.

Here in the database layer, as the stored format is: the log's readers and the migrations both read it.
"""

import struct

import numpy as np
import orjson

MAGIC = b"PLC1"
HEADER_LENGTH = struct.Struct("<I")


class BadChunk(ValueError):
    """A payload this code cannot read (another layout, or cut short)."""


def decode_payload(payload: bytes) -> tuple[int, dict[str, np.ndarray]]:
    """A payload's row count and its columns by name (read-only arrays over the payload's bytes); BadChunk for a
    payload that is not one this code wrote, whole."""
    payload = bytes(payload)  # PostgreSQL's driver gives a memoryview
    if payload[:4] != MAGIC:
        raise BadChunk("not a prediction chunk payload")
    try:
        (length,) = HEADER_LENGTH.unpack_from(payload, 4)
        header = orjson.loads(payload[8 : 8 + length])
        rows, offset, columns = header["rows"], 8 + length, {}
        for name, dtype, shape in header["columns"]:
            array = np.frombuffer(payload, dtype=dtype, count=int(np.prod(shape)), offset=offset).reshape(shape)
            if array.shape[:1] != (rows,):
                raise BadChunk(f"a prediction chunk column ({name}) of another length than its {rows} rows")
            offset += array.nbytes
            columns[name] = array
    except BadChunk:
        raise
    except (ValueError, KeyError, TypeError, struct.error) as exc:
        raise BadChunk(f"an unreadable prediction chunk payload ({exc})") from None
    if offset != len(payload):
        raise BadChunk("a prediction chunk payload of the wrong length")
    return rows, columns


def decode_customer_ids(data: bytes | None, rows: int) -> list[str | None]:
    """A chunk's customer ids, one per row (None in each when the request gave none); BadChunk for anything else."""
    if data is None:
        return [None] * rows
    try:
        ids = orjson.loads(bytes(data))
    except orjson.JSONDecodeError:
        raise BadChunk("a prediction chunk's customer ids are not JSON") from None
    if type(ids) is not list or len(ids) != rows:
        raise BadChunk(f"a prediction chunk's customer ids are not a list of {rows}")
    return ids
