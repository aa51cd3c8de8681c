"""Reading a chunk's numbers as people write them, and finding each row's first problem."""

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from app.models.features import Feature
from app.models.model import SegmentationModel
from app.services.scoring.columns import NAME_QUOTED_CHARS, Columns
from app.utils.csv_head import DECIMAL_COMMA_PATTERN
from app.utils.csv_rows import WRONG_FIELDS
from app.utils.numbers import DECIMAL
from app.utils.text import safe_text

# The reason given for a line the reader could not split into the header's fields (training's too).
MALFORMED = WRONG_FIELDS
# A decimal number as people write it (no thousands separators); "inf" and "nan" are not customers' values.
_NUMBER = f"^{DECIMAL}$"


def numbers(column: pa.ChunkedArray | pa.Array, *, decimal_comma: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Column values as floats (NaN where unusable) and a mask of the empty ones; with `decimal_comma` (a ';' file),
    "1,5" reads as 1.5."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        try:  # the common case: every value is a plain number
            values = pc.cast(column, pa.float64())
            return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64), np.zeros(len(column), bool)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        trimmed = pc.utf8_trim_whitespace(column)
        if decimal_comma:
            trimmed = pc.replace_substring_regex(trimmed, DECIMAL_COMMA_PATTERN, r"\1.\2")
        empty = pc.equal(pc.utf8_length(trimmed), 0)
        # Some text is not a number: keep only what looks like one (the rest becomes NaN, "not a number").
        number = pc.match_substring_regex(trimmed, _NUMBER)
        values = pc.cast(pc.if_else(number, trimmed, pa.scalar(None, column.type)), pa.float64())
        empty_mask = np.asarray(empty.to_numpy(zero_copy_only=False), dtype=bool)
    else:
        values = pc.cast(column, pa.float64())
        empty_mask = np.asarray(pc.is_null(values).to_numpy(zero_copy_only=False), dtype=bool)
    return np.asarray(pc.fill_null(values, np.nan).to_numpy(zero_copy_only=False), dtype=np.float64), empty_mask


# Training standard deviations beyond which a value is refused (as the JSON API does, services/segmentations.py).
MAX_Z = 1e6


def _bounds(spec: Feature) -> str:
    """A feature's valid range in words: "0 to 100", or "at least 0" / "at most 80" when one side is unbounded."""
    if math.isfinite(spec.minimum) and math.isfinite(spec.maximum):
        return f"{spec.minimum:g} to {spec.maximum:g}"
    return spec.range_text()


def validate_rows(
    model: SegmentationModel, table: pa.Table, columns: Columns, *, decimal_comma: bool = False
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The feature matrix, each row's first problem as a code (0 when the row is fine), and the codes' texts.

    The texts name the file's own column ("missing Annual Income (k$)"): the one the user can look for.
    """
    n = table.num_rows
    X = np.empty((n, len(model.features)), dtype=np.float64)
    codes = np.zeros(n, dtype=np.int8)  # small integers: comparing texts row by row is slow
    reasons = [""]
    for f, (feature, spec) in enumerate(zip(model.features, model.feature_specs, strict=True)):
        column = columns.features[feature]
        name = safe_text(column, NAME_QUOTED_CHARS)
        values, empty = numbers(table.column(column), decimal_comma=decimal_comma)
        X[:, f] = values
        # The values the API accepts: the version's own range for each feature (infinite when it has none).
        low, high = spec.minimum, spec.maximum
        not_number = ~empty & ~np.isfinite(values)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            out = np.isfinite(values) & ((values < low) | (values > high))
            # So far from the training data that no distance to it is finite (1e200): a typo, never a customer.
            seen = np.log1p(values) if spec.transform == "log1p" else values
            absurd = np.isfinite(values) & ~out & ~(np.abs((seen - model.mean[f]) / model.scale[f]) <= MAX_Z)
        for mask, reason in (
            (empty, f"missing {name}"),
            (not_number, f"{name} is not a number"),
            (out, f"{name} out of range ({_bounds(spec)})"),
            (absurd, f"{name} too far from the training data"),
        ):
            if mask.any():
                reasons.append(reason)
                codes[mask & (codes == 0)] = len(reasons) - 1
    return X, codes, reasons
