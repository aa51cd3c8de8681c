"""Bad transaction lines: why a line cannot be used, each reason in the file's own terms, amounts read as numbers
or not, and the line of the file a record starts on (so that a refusal can name it).

A line without a customer id is not a bad line: it is a guest's purchase, which no customer's RFM holds (counted,
dropped). Nor is a cancellation, nor a line after a reference date the caller gave. The others are bad lines: a
date that cannot be read or that lies after tomorrow, an amount missing or not a finite number, an amount (or
quantity x unit price) beyond ±MAX_MAGNITUDE, and a record that does not have the header's number of fields.
"""

import csv
import io
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from app.core.errors import InvalidDataset
from app.models.features import MAX_MAGNITUDE
from app.models.rfm.chunks import HEAD_BYTES, line_end_of
from app.models.rfm.columns import RfmColumns
from app.models.rfm.left_out import PLAIN_AMOUNTS
from app.utils.moments import latest_plausible
from app.utils.numbers import DECIMAL
from app.utils.text import safe_text

# Why a line with a customer id is not used, in the order lines are checked: the first that applies is its reason.
BAD_DATE, FUTURE_DATE, NO_AMOUNT, NOT_A_NUMBER = 1, 2, 3, 4
# A record the reader could not split into the header's fields: it has no customer id to count it against.
MALFORMED = 5
# A line's amount beyond ±MAX_MAGNITUDE (an overflowing quantity x unit price too): a typo no customer spent, which
# would make the customer's monetary the typo (or infinite) and no model could use it. Checked after NOT_A_NUMBER.
TOO_LARGE = 6
REASONS = (BAD_DATE, FUTURE_DATE, NO_AMOUNT, NOT_A_NUMBER, TOO_LARGE, MALFORMED)
# The summary's count of each reason (Counts' fields).
COUNTED = {
    BAD_DATE: "unparseable_dates",
    FUTURE_DATE: "future_dates",
    NO_AMOUNT: "rows_without_amount",
    NOT_A_NUMBER: "amounts_not_numbers",
    MALFORMED: "malformed_rows",
    TOO_LARGE: "amounts_too_large",
}
# Header names in messages are cut: a thousand-character name still gives a readable one.
NAME_CHARS = 60
_NUMBER = f"^{DECIMAL}$"
_COUNT_BYTES = 1 << 20


def future_after() -> datetime:
    """The latest moment a transaction can have happened, as dates are read (naive UTC, whole seconds): a line
    dated after it is in the future. The same "tomorrow" as /api/v1/outcomes takes."""
    return latest_plausible().replace(tzinfo=None, microsecond=0)


def reason(code: int, columns: RfmColumns) -> str:
    """Why a line is bad, naming the file's own column ("missing Amount")."""
    date = safe_text(columns.date, NAME_CHARS)
    amount = " or ".join(safe_text(name, NAME_CHARS) for name in columns.amount_columns)
    texts = {
        BAD_DATE: f"{date} is not a readable date",
        FUTURE_DATE: f"{date} is after tomorrow",
        NO_AMOUNT: f"missing {amount}",
        NOT_A_NUMBER: f"{amount} is not a number ({PLAIN_AMOUNTS})",
        TOO_LARGE: f"{' x '.join(safe_text(name, NAME_CHARS) for name in columns.amount_columns)} is beyond "
        f"±{MAX_MAGNITUDE:.0e}".replace("e+", "e"),
        MALFORMED: "wrong number of fields",
    }
    return texts[code]


def unusable_reason(reasons: int, columns: RfmColumns) -> str:
    """Why a customer has no usable line, from the bit set (1 << code) of their bad lines' reasons."""
    return "no usable transaction: " + ", ".join(reason(code, columns) for code in REASONS if reasons >> code & 1)


def refusal(line: int, code: int, columns: RfmColumns) -> InvalidDataset:
    """The refusal of a file at its first bad line, as customer files are refused under on_error=reject."""
    return InvalidDataset(
        f"line {line} is not usable: {reason(code, columns)}; fix it, or score with on_error=flag or on_error=skip"
    )


def unclosed_quote(line: int, spans: int) -> InvalidDataset:
    """The refusal of a quote that never closes: it swallows every line after it into one value, whatever the
    policy (skipping it would drop those lines unseen)."""
    return InvalidDataset(
        f"line {line}: a quote opens a value that runs over {spans:,} lines without closing; close the quote (or "
        "remove it) and send the file again"
    )


def value_lines(text: str) -> int:
    """The lines a record's text spans."""
    return text.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1


def amounts(text: pa.Array, decimal: str = ".") -> tuple[pa.Array, pa.Array | None]:
    """Amount text as numbers, null where missing (the reader's null: empty, NA, NaN, ...) or not a finite number;
    and which were not numbers (None when all were), as customer files read numbers: trimmed, decimal commas in a
    `;` file read, no thousands separators, `inf` not a number."""
    if decimal == ",":
        text = pc.replace_substring(text, ",", ".")
    try:
        numbers = pc.cast(text, pa.float64())  # the usual case: every value is a plain number
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        text = pc.utf8_trim_whitespace(text)
        text = pc.if_else(pc.equal(pc.binary_length(text), 0), pa.scalar(None, pa.string()), text)
        numbers = pc.cast(pc.if_else(pc.match_substring_regex(text, _NUMBER), text, pa.scalar(None, pa.string())),
                          pa.float64())  # fmt: skip
    finite = pc.is_finite(numbers)
    if numbers.null_count == text.null_count and pc.all(finite).as_py() is not False:
        return numbers, None
    not_number = pc.and_(pc.is_valid(text), pc.invert(pc.fill_null(finite, False)))
    return pc.if_else(finite, numbers, pa.scalar(None, pa.float64())), not_number


def bounded(amount: pa.Array) -> tuple[pa.Array, pa.Array | None]:
    """Amounts with those beyond ±MAX_MAGNITUDE (infinities too) made null, and which they were (None when none)."""
    bounds = pc.min_max(amount).as_py()
    if bounds["min"] is None or (bounds["min"] >= -MAX_MAGNITUDE and bounds["max"] <= MAX_MAGNITUDE):
        return amount, None  # the usual block: one pass to find its extremes, none to mask
    large = pc.fill_null(pc.greater(pc.abs(amount), MAX_MAGNITUDE), False)
    return pc.if_else(large, pa.scalar(None, pa.float64()), amount), large


def record_of(index: int, malformed: list[int]) -> int:
    """The record number (1-based) of the `index`-th parsed row (0-based), the reader having left out the records
    numbered `malformed` (sorted) before it."""
    record = index + 1
    for number in malformed:
        if number > record:
            break
        record += 1
    return record


def record_line(path: Path, offset: int, record: int, delimiter: str) -> int:
    """The line of the file on which the `record`-th record (1-based; blank lines are no records, as for Arrow's
    reader) after `offset` starts; `offset` is a record's start. Read only to name a refused line."""
    with open(path, "rb") as file:
        newline = line_end_of(file.read(HEAD_BYTES))
        file.seek(0)
        before, left = 0, offset
        while left > 0 and (block := file.read(min(_COUNT_BYTES, left))):
            before += block.count(newline)
            left -= len(block)
        text = io.TextIOWrapper(file, encoding="utf-8", errors="replace", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        seen, start = 0, 0
        for row in reader:
            if row:
                seen += 1
                if seen == record:
                    break
            start = reader.line_num
        return before + start + 1
