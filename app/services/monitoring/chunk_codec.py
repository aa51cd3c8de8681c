"""A large chunk of the prediction log as one `prediction_chunks` row: its per-row columns packed columnar, in the
layout app/db/chunk_payload.py describes and reads.

Nothing here needs SQLAlchemy: the writer thread uses it.
"""

from typing import Any

import numpy as np
import orjson

from app.db.chunk_payload import HEADER_LENGTH, MAGIC
from app.services.monitoring.log_rows import LogChunk, customer_id_texts
from app.utils.moments import utc

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
        "payload": b"".join([MAGIC, HEADER_LENGTH.pack(len(header)), header, *parts]),
        "customer_ids": customer_ids,
    }
