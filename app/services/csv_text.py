"""The first check of any uploaded CSV, in the words of a request error.

Kept apart from the scoring service so that training uploads can use it without importing pyarrow.
"""

from app.core.errors import InvalidRequest
from app.utils import csv_head
from app.utils.csv_head import HEAD_BYTES

__all__ = ["HEAD_BYTES", "decode_head"]


def decode_head(head: bytes) -> str:
    """The first bytes of an upload as text (BOM dropped); InvalidRequest when empty, binary or not UTF-8."""
    try:
        return csv_head.decode_head(head)
    except csv_head.NotCsvText as exc:
        advice = "" if exc.advised else ": send a UTF-8 CSV file with a header row and customer rows"
        raise InvalidRequest(f"the file {exc.problem}{advice}") from None
