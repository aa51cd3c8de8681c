"""A large chunk of the prediction log as one `prediction_chunks` row: its per-row columns packed columnar.

The payload is `MAGIC`, the header's length (uint32, little-endian), an orjson header
`{"rows": n, "columns": [[name, dtype, shape], ...]}`, then each column's raw C-order bytes in the header's order
(numpy dtypes in explicit byte order: "<f8", "<i8", "|b1"). Inputs are float64 of shape (rows, features), in the
row's `features` order. A column left out (challenger_segment_id without a shadow challenger) is null in every row.
Customer ids are not in the payload but in their own column, an orjson list of text or null, so that finding a
customer's newest prediction reads them alone.

Nothing here needs SQLAlchemy: the writer thread and the log's reader both use it.
"""

import struct
from typing import Any

import numpy as np
import orjson

from app.services.monitoring.log_rows import LogChunk, customer_id_texts
from app.utils.moments import utc

MAGIC = b"PLC1"
_LENGTH = struct.Struct("<I")
# Per-row columns of the payload and their dtypes; inputs are 2-D.
_DTYPES = {
    "inputs": "<f8",
    "segment_id": "<i8",
    "distance": "<f8",
    "confidence": "<f8",
    "is_atypical": "|b1",
    "out_of_range": "|b1",
    "challenger_segment_id": "<i8",
}
_FIELDS = {
    "inputs": "inputs",
    "segment_id": "segment_ids",
    "distance": "distances",
    "confidence": "confidences",
    "is_atypical": "atypical",
    "out_of_range": "out_of_range",
    "challenger_segment_id": "challenger_segment_ids",
}


class BadChunk(ValueError):
    """A payload this code cannot read (another layout, or cut short)."""


def encode_chunk(chunk: LogChunk) -> dict[str, Any]:
    """The chunk as the parameters of one `prediction_chunks` row."""
    n = len(chunk)
    columns, parts = [], []
    for name, dtype in _DTYPES.items():
        values = getattr(chunk, _FIELDS[name])
        if values is None:
            continue
        array = np.ascontiguousarray(values, dtype=dtype)
        if name == "inputs":
            array = array.reshape(n, len(chunk.features))
        if len(array) != n:
            raise ValueError(f"{len(array)} {name} for {n} rows")
        columns.append([name, dtype, list(array.shape)])
        parts.append(array.data)
    header = orjson.dumps({"rows": n, "columns": columns})
    customer_ids = None
    if chunk.customer_ids is not None:
        texts = customer_id_texts(chunk.customer_ids)
        if len(texts) != n:
            raise ValueError(f"{len(texts)} customer ids for {n} rows")
        # A batch whose customers carry no id stores none: the outcome lookup then skips the chunk unread.
        if any(text is not None for text in texts):
            customer_ids = orjson.dumps(texts)
    return {
        "created_at": utc(chunk.created_at),
        "model_version": chunk.model_version,
        "request_id": chunk.request_id,
        "source": chunk.source,
        "segmentation": chunk.segmentation,
        "arm": chunk.arm,
        "challenger_version": chunk.challenger_version,
        "row_count": n,
        "features": list(chunk.features),
        "segment_names": {str(segment_id): name for segment_id, name in chunk.segment_names.items()},
        "payload": b"".join([MAGIC, _LENGTH.pack(len(header)), header, *parts]),
        "customer_ids": customer_ids,
    }


def decode_payload(payload: bytes) -> tuple[int, dict[str, np.ndarray]]:
    """A payload's row count and its columns by name (read-only arrays over the payload's bytes); BadChunk for a
    payload that is not one this code wrote, whole."""
    payload = bytes(payload)  # PostgreSQL's driver gives a memoryview
    if payload[:4] != MAGIC:
        raise BadChunk("not a prediction chunk payload")
    try:
        (length,) = _LENGTH.unpack_from(payload, 4)
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
