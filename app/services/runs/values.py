"""A run's kept text read back as the scoring read it: numbers (decimal commas in a ';' file) and customer ids."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from app.services.scoring.validation import numbers

# "12.0" is the id 12 written by a spreadsheet: both name one customer.
_WHOLE_FLOAT = r"^(-?\d+)\.0+$"


def finite_numbers(values: pd.Series, *, comma: bool) -> np.ndarray:
    """A column's numbers as floats, only the finite ones (text that is no number left out)."""
    read, _ = numbers(pa.Array.from_pandas(values), decimal_comma=comma)
    return read[np.isfinite(read)]


def customer_ids(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Ids as one text per customer: trimmed, and "12.0" (a spreadsheet's float id) as "12"."""
    ids = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
    return pc.replace_substring_regex(ids, _WHOLE_FLOAT, r"\1")
