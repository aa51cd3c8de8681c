"""Reading a transactions CSV: its header and delimiter, a sample spread over the file, and Arrow's streaming reader.

Memory stays bounded: Arrow's streaming reader holds a few blocks at a time, and the sample is a few hundred KiB
read from evenly spaced places (so a date format that changes half-way through the file is seen up front).
"""

import csv
import io
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from app.core.errors import InvalidDataset
from app.models.rfm.chunks import header_end, line_end_of
from app.models.rfm.columns import RfmColumns
from app.utils.csv_head import (
    HEAD_BYTES,
    UNNAMED_TAIL,
    NotCsvText,
    decode_head,
    first_not_utf8,
    first_record,
    row_names,
)
from app.utils.csv_rows import not_utf8_problem

DELIMITERS = (",", ";", "\t", "|")
BLOCK_BYTES = 1 << 20
# A chunk is parsed in blocks of this size: fewer, larger batches (and dictionaries) cost less per row.
CHUNK_BLOCK_BYTES = 4 << 20
SAMPLE_SLICES = 32
SLICE_BYTES = 16 * 1024
_LINE_END = re.compile(r"\r\n|\r|\n")
# What becomes of a record without the header's number of fields: "skip" (counted by the caller) or "error".
OnInvalid = Callable[[pacsv.InvalidRow], str]


@dataclass(frozen=True)
class CsvLayout:
    """How a transactions file is written: delimiter, the names its records are read with (app.utils.csv_head
    .row_names: its header, then UNNAMED_TAIL when they end with the delimiter) and decimal mark."""

    delimiter: str
    names: list[str]
    decimal: str = "."

    @property
    def columns(self) -> list[str]:
        """The header's columns: the names without the unnamed field records may end with (never read)."""
        return self.names[:-1] if self.names[-1:] == [UNNAMED_TAIL] else self.names


def read_layout(path: Path, delimiter: str | None = None) -> CsvLayout:
    """The delimiter (sniffed from the header line unless given) and header names of a CSV file."""
    with open(path, "rb") as file:
        head = file.read(HEAD_BYTES)
    try:
        text = decode_head(head)
    except NotCsvText as exc:
        advice = "" if exc.advised else ": send a UTF-8 CSV file with a header row"
        raise InvalidDataset(f"the transactions file {exc.problem}{advice}") from None
    end = _LINE_END.search(text)
    if end is None and len(head) >= HEAD_BYTES:
        raise InvalidDataset(f"the header line is longer than {HEAD_BYTES // 1024} KiB")
    first = text[: end.start()] if end else text
    if delimiter is None:
        delimiter = max(DELIMITERS, key=first.count)
    names = [name.strip() for name in next(csv.reader([first], delimiter=delimiter), [])]
    if not any(names):
        raise InvalidDataset("the transactions file has no header row")
    # A header or records ending with the delimiter, as spreadsheets save them: read as the customer files are.
    record = first_record(text[end.end() :], delimiter, whole=len(head) < HEAD_BYTES) if end else None
    return CsvLayout(delimiter, row_names(names, record))


def read_sample(path: Path, layout: CsvLayout, columns: list[str]) -> pa.Table:
    """Rows of `columns` (as text) from the start of the file and from evenly spaced places after it."""
    size = os.path.getsize(path)
    parts = []
    with open(path, "rb") as file:
        parts.append(_lines(file.read(HEAD_BYTES), whole=size <= HEAD_BYTES))
        if size > HEAD_BYTES + SLICE_BYTES:
            step = (size - HEAD_BYTES) // SAMPLE_SLICES
            for index in range(1, SAMPLE_SLICES + 1):
                file.seek(min(HEAD_BYTES + index * step, size - SLICE_BYTES))
                parts.append(_lines(file.read(SLICE_BYTES)))
    body = b"\n".join(part for part in parts if part)
    if not body and header_end(path) >= size:
        raise InvalidDataset("the transactions file has a header but no transaction lines")
    try:
        return pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(column_names=layout.names, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=layout.delimiter, invalid_row_handler=lambda _: "skip"),
            convert_options=pacsv.ConvertOptions(
                include_columns=columns, column_types=dict.fromkeys(columns, pa.string()), strings_can_be_null=True
            ),
        )
    except pa.ArrowInvalid as exc:
        if not _is_utf8(body):  # a malformed record Arrow could not even hand to the handler as text
            raise InvalidDataset(f"the transactions file {first_not_utf8(path)[0]}") from None
        raise InvalidDataset(f"the transactions file is not valid CSV: {exc}") from None


def _is_utf8(data: bytes) -> bool:
    """Whether bytes are UTF-8 text."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _lines(chunk: bytes, *, whole: bool = False) -> bytes:
    """The whole lines of a chunk after its first line (the header, or a partial line), without a partial last
    line unless the chunk is the whole file; each ending with a line feed, whatever the file's line ends."""
    newline = line_end_of(chunk)  # an old Mac file ends its lines with a carriage return alone
    start = chunk.find(newline) + 1
    end = len(chunk) if whole else chunk.rfind(newline)
    if not start or end <= start:
        return b""
    lines = chunk[start:end]
    return lines.replace(b"\r", b"") if newline == b"\n" else lines.replace(b"\r", b"\n")


def decimal_mark(layout: CsvLayout, sample: pa.Table, numeric: list[str]) -> str:
    """`,` when the delimiter is `;` and the sample's numbers are written with decimal commas, else `.`."""
    if layout.delimiter != ";":
        return "."
    for name in numeric:
        values = [value for value in sample.column(name).to_pylist() if value]
        if any("," in value for value in values):
            return ","
    return "."


def convert_options(columns: RfmColumns) -> pacsv.ConvertOptions:
    """The needed columns only, as text: ids and dates dictionary-encoded (each distinct value is then cleaned or
    parsed once per block); amounts as text too, so that one that is not a number is a bad line (bad_rows.amounts),
    never the whole file refused."""
    text = [name for name in (columns.customer_id, columns.date, columns.order_id, *columns.amount_columns) if name]
    encoded = dict.fromkeys((columns.customer_id, columns.date), pa.dictionary(pa.int32(), pa.string()))
    return pacsv.ConvertOptions(
        include_columns=text,
        column_types={**dict.fromkeys(text, pa.string()), **encoded},
        strings_can_be_null=True,
    )


def read_chunk(data: memoryview, layout: CsvLayout, columns: RfmColumns, on_invalid: OnInvalid) -> pa.Table:
    """The needed columns of a chunk of whole records (no header), parsed on the calling thread; a record without
    the header's number of fields goes to `on_invalid`, with its number in the chunk."""
    return pacsv.read_csv(
        pa.BufferReader(pa.py_buffer(data)),
        read_options=pacsv.ReadOptions(column_names=layout.names, use_threads=False, block_size=CHUNK_BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(
            delimiter=layout.delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
        ),
        convert_options=convert_options(columns),
    )


def open_blocks(
    path: Path,
    layout: CsvLayout,
    columns: RfmColumns,
    *,
    offset: int,
    on_invalid: OnInvalid,
    block_bytes: int = BLOCK_BYTES,
) -> tuple[pa.NativeFile, Iterator[pa.RecordBatch]]:
    """The open file (its position tells progress) and Arrow's streaming reader over the needed columns, from
    `offset` (a record's start) on; a record without the header's number of fields goes to `on_invalid`, with its
    number from `offset`."""
    source = pa.OSFile(str(path))
    source.seek(offset)
    try:
        reader = pacsv.open_csv(
            source,
            # One thread: Arrow then numbers the records it hands to on_invalid.
            read_options=pacsv.ReadOptions(column_names=layout.names, block_size=block_bytes, use_threads=False),
            parse_options=pacsv.ParseOptions(
                delimiter=layout.delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=convert_options(columns),
        )
    except pa.ArrowInvalid as exc:
        source.close()
        raise read_problem(exc, path) from None
    return source, reader


def read_problem(exc: Exception, path: Path | None = None) -> InvalidDataset:
    """Arrow's CSV error in the user's terms (`path`: the file, to find the line of text that is not UTF-8)."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
    # A malformed record that is not UTF-8 fails before Arrow can hand it to the handler as text: its error is a
    # parse error quoting the record. The file's first byte that is not UTF-8 is then the problem to name.
    problem, line = not_utf8_problem(path)
    if line is not None or "UTF8" in message or "UTF-8" in message:
        return InvalidDataset(f"the transactions file {problem}")
    return InvalidDataset(f"the transactions file is not valid CSV: {message}")
