"""The records below a CSV file's header, read by Arrow one way for every reader: scoring (locally and on Dask),
training (locally and on Dask) and the column profile. Every cell is text. A record without the header's number of
fields is handed to the caller, never split into columns: read by position, its values would land in the wrong
columns. Records are numbered from the header (record 1); a record's line adds the line breaks inside the quoted
values of the records before it.
"""

import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from app.utils.csv_head import SAVE_AS_UTF8, UNNAMED_TAIL, first_not_utf8, not_utf8_text
from app.utils.text import safe_text

# Arrow's CSV reader reads ahead about 40 blocks: 128 KiB blocks hold ~5 MB where 1 MB blocks held ~40 MB, at the
# same speed. A record longer than a block cannot be read.
READ_BLOCK_BYTES = 128 * 1024
# The reason given for a record the reader could not split into the header's fields.
WRONG_FIELDS = "wrong number of fields"
LINE_BREAK = "\r\n|\r|\n"
# Messages quote a column's name cut to this many characters.
NAME_CHARS = 60
# Bytes read from the end of a file: enough to see whether it ends with a closing quote.
TAIL_BYTES = 64

# What the Arrow reader asks of a record it could not split: "skip" it (the handler has counted it).
InvalidRowHandler = Callable[[Any], str]


class UnreadableRows(ValueError):
    """Records that cannot be read as rows at all; `problem` says why, in the user's terms, and where when it can:
    at `line` ("line 12: ..."), or after `rows` rows ("a row after the first 1,200 ...")."""

    def __init__(self, problem: str, line: int | None = None, rows: int | None = None) -> None:
        super().__init__(problem, line, rows)
        self.problem, self.line, self.rows = problem, line, rows

    def moved(self, *, lines: int, rows: int) -> "UnreadableRows":
        """The same problem in a file where `lines` lines and `rows` rows come before the text it was found in."""
        problem = self.problem
        if self.line is not None:
            problem = problem.replace(f"line {self.line}:", f"line {self.line + lines}:", 1)
        if self.rows is not None:
            problem = problem.replace(f"the first {self.rows:,} ", f"the first {self.rows + rows:,} ", 1)
        return UnreadableRows(
            problem,
            None if self.line is None else self.line + lines,
            None if self.rows is None else self.rows + rows,
        )


@dataclass(frozen=True)
class Malformed:
    """The records without the header's number of fields: how many, and the first one's line and field count."""

    count: int = 0
    line: int = 0
    fields: int = 0


@dataclass(frozen=True)
class TextRows:
    """Records read whole: the well-formed ones as text columns, the malformed ones counted, and the lines they all
    span (records and the line breaks inside their values), where the lines of the records after them start."""

    table: pa.Table
    malformed: Malformed
    lines: int


def open_rows(
    source: str | Path | BinaryIO | pa.NativeFile,
    *,
    names: Sequence[str],
    delimiter: str,
    on_invalid_row: InvalidRowHandler,
    block_size: int,
    header_ends: bool = True,
    include: Sequence[str] | None = None,
) -> Iterator[pa.RecordBatch]:
    """The records after the header line as batches of text columns named `names` (only `include`'s, when given).

    Read on one thread, so that every record handed to `on_invalid_row` carries its number. `header_ends`: whether a
    line end closes the header line. A file that is its header alone, with no line end, has no records: Arrow cannot
    skip a header line that never ends, so it is not asked to.
    """
    if not header_ends:
        return
    reader = pacsv.open_csv(
        str(source) if isinstance(source, str | Path) else source,
        read_options=pacsv.ReadOptions(column_names=list(names), skip_rows=1, block_size=block_size, use_threads=False),
        # Quoted values may hold line breaks (valid CSV); read on one thread this costs nothing measurable.
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid_row
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            include_columns=list(include) if include is not None else [],
        ),
    )
    yield from reader


class _Misfits:
    """The records the reader could not split, as it hands them over: counted, the first one's number and fields,
    the first one holding a line break (a quote that never closes swallowed the lines after it), and whether the
    last one holds an odd number of quotes (the file ended inside its quoted value)."""

    def __init__(self) -> None:
        self.count = 0
        self.numbers: list[int] = []
        self.first: tuple[int, int] | None = None
        self.unclosed: tuple[int, int, int] | None = None  # number, lines, misfits before it
        self.last = 0
        self.last_open = False

    def __call__(self, row: Any) -> str:
        if self.unclosed is None and ("\n" in row.text or "\r" in row.text):
            self.unclosed = (row.number, value_lines(row.text), self.count)
        if self.first is None:
            self.first = (row.number, row.actual_columns)
        self.count += 1
        self.numbers.append(row.number)
        self.last, self.last_open = row.number, row.text.count('"') % 2 == 1
        return "skip"


def read_rows(
    source: bytes | str | Path,
    *,
    names: Sequence[str],
    delimiter: str,
    header_ends: bool = True,
    include: Sequence[str] | None = None,
    label: str = "the file",
) -> TextRows:
    """Every record of a CSV file (a path, or its bytes: the header line first), read whole.

    A last name UNNAMED_TAIL (app.utils.csv_head.row_names: records that end with the delimiter) is read, never
    kept: a record with a value there has a field too many, and is counted with the malformed ones.
    UnreadableRows for what no row can be read from: a quote that never closes, as scoring refuses it (a malformed
    record holding a line break, or a last value holding one in a file that does not end with a quote) and when
    the file ends inside a malformed record's quote; a record longer than READ_BLOCK_BYTES; text that is not UTF-8;
    anything else Arrow cannot parse.
    """
    misfits = _Misfits()
    if include is not None:
        # The last column too: a quote opened there and never closed runs to the end of the file.
        include = [name for name in names if name in {*include, names[-1]}]
    batches: list[pa.RecordBatch] = []
    try:
        batches.extend(
            open_rows(
                io.BytesIO(source) if isinstance(source, bytes) else source,
                names=names,
                delimiter=delimiter,
                on_invalid_row=misfits,
                block_size=READ_BLOCK_BYTES,
                header_ends=header_ends,
                include=include,
            )
        )
    except pa.ArrowInvalid as exc:
        if misfits.unclosed is None:  # past a quote that never closes the reader stops anywhere: that is the problem
            rows = sum(batch.num_rows for batch in batches)
            message = str(exc).splitlines()[0]
            # Text that is not UTF-8 (Arrow's own error, or a parse error over a malformed record it could not even
            # hand over as text): named at its line, placed in the whole file as a quote's is.
            problem, line = not_utf8_problem(source)
            if line is not None:
                raise UnreadableRows(f"{label} {problem}", line) from None
            # The file was looked through just now and is UTF-8: not read a second time.
            problem = read_problem(message, rows_read=rows, label=label)
            raise UnreadableRows(problem, rows=rows) from None
    kept = names if include is None else include
    table = pa.Table.from_batches(batches, pa.schema([pa.field(name, pa.string()) for name in kept]))
    breaks = _breaks(table)

    def line_of(record: int, misfits_before: int) -> int:
        good_before = record - 2 - misfits_before
        return record + (int(breaks[:good_before].sum()) if breaks is not None else 0)

    def unclosed(line: int, spans: int, column: str | None = None) -> UnreadableRows:
        named = None if column == UNNAMED_TAIL else column  # the unnamed last field has no name to quote
        return UnreadableRows(unclosed_quote_text(f"line {line}", spans, named), line)

    if misfits.unclosed is not None:
        record, spans, before = misfits.unclosed
        raise unclosed(line_of(record, before), spans)
    records = table.num_rows + misfits.count
    if table.num_rows and misfits.last != records + 1:  # the last record is a row
        last = table.column(table.num_columns - 1)[-1].as_py()
        if ("\n" in last or "\r" in last) and not _tail(source).rstrip(b" \t\r\n").endswith(b'"'):
            # The value was quoted (it holds a line break), yet the file does not end with a quote: the reader
            # reached the end of the file inside it.
            raise unclosed(line_of(records + 1, misfits.count), value_lines(last), kept[-1])
    elif misfits.last_open:
        raise unclosed(line_of(misfits.last, misfits.count - 1), 1)
    malformed = Malformed(misfits.count, line_of(*misfits.first[:1], 0), misfits.first[1]) if misfits.first else None
    lines = records + (int(breaks.sum()) if breaks is not None else 0)
    if kept and kept[-1] == UNNAMED_TAIL:
        table, malformed = _without_tail(table, malformed, misfits.numbers, breaks, len(names))
    return TextRows(table, malformed or Malformed(), lines)


def _without_tail(
    table: pa.Table, malformed: Malformed | None, misfits: list[int], breaks: np.ndarray | None, fields: int
) -> tuple[pa.Table, Malformed | None]:
    """The rows without their UNNAMED_TAIL column, those with a value in it moved to the malformed records (each has
    `fields` fields, where the header names one fewer)."""
    filled = pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(table.column(UNNAMED_TAIL))), 0)
    overfull = np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)
    table = table.drop_columns([UNNAMED_TAIL])
    if not overfull.any():
        return table, malformed
    # Each row's record number (the header is record 1) and line: the rare path, so every record is counted out.
    records = np.setdiff1d(np.arange(2, table.num_rows + len(misfits) + 2), np.asarray(misfits, dtype=np.int64))
    before = np.cumsum(breaks) - breaks if breaks is not None else 0
    first = int((records + before)[np.argmax(overfull)])
    count = int(overfull.sum()) + (malformed.count if malformed else 0)
    if malformed is None or first < malformed.line:
        malformed = Malformed(count, first, fields)
    else:
        malformed = Malformed(count, malformed.line, malformed.fields)
    return table.filter(pa.array(~overfull)), malformed


def has_line_break(column: pa.ChunkedArray) -> bool:
    """Whether any value of a text column holds a line break (False for other types): a scan of its bytes, no work
    per value."""
    for chunk in column.chunks:
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            return False
        _, offsets, data = chunk.buffers()
        if not len(chunk) or data is None:
            continue
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        bounds = np.frombuffer(offsets, width)[[chunk.offset, chunk.offset + len(chunk)]]
        raw = np.frombuffer(data, np.uint8)[int(bounds[0]) : int(bounds[1])]
        # The smallest byte first: text without control characters is settled in one pass that allocates nothing.
        if raw.size and raw.min() <= 13 and bool(((raw == 10) | (raw == 13)).any()):
            return True
    return False


def _breaks(table: pa.Table) -> np.ndarray | None:
    """The line breaks inside each row's values, or None when no value holds one (the usual table: one byte scan)."""
    broken = [column for column in table.columns if has_line_break(column)]
    if not broken:
        return None
    counts = np.zeros(table.num_rows, dtype=np.int64)
    for column in broken:
        counts += np.asarray(pc.count_substring_regex(column, LINE_BREAK), dtype=np.int64)
    return counts


def _tail(source: bytes | str | Path) -> bytes:
    """The last TAIL_BYTES of a file."""
    if isinstance(source, bytes):
        return source[-TAIL_BYTES:]
    with open(source, "rb") as file:
        size = file.seek(0, io.SEEK_END)
        file.seek(max(0, size - TAIL_BYTES))
        return file.read()


def value_lines(value: str) -> int:
    """The lines holding part of a value: a line break that ends the file ends the last of them."""
    return len(re.findall(LINE_BREAK, value.rstrip("\r\n"))) + 1


def unclosed_quote_text(where: str, spans: int, column: str | None = None) -> str:
    """The refusal of a quote that never closes, `where` its row starts ("line 12")."""
    in_column = f" in column '{safe_text(column, NAME_CHARS)}'" if column is not None else ""
    return (
        f"{where}: a quote{in_column} opens a value that runs over {spans:,} line{'s' * (spans != 1)} without "
        "closing; close the quote (or remove it) and send the file again"
    )


def not_utf8_problem(source: bytes | str | Path | None) -> tuple[str, int | None]:
    """Why a file is not UTF-8, to follow its label, and the line of its first bad byte (None: no file to look in)."""
    if isinstance(source, bytes):
        return not_utf8_text(source)
    if isinstance(source, str | Path):
        return first_not_utf8(Path(source))
    return f"is not UTF-8 text; {SAVE_AS_UTF8}", None


def read_problem(
    message: str,
    *,
    rows_read: int,
    label: str = "the file",
    block_size: int = READ_BLOCK_BYTES,
    source: bytes | str | Path | None = None,
) -> str:
    """An error of Arrow's reader in the user's terms (`rows_read`: the rows read before it; `source`: the file, to
    find the line of text that is not UTF-8, which a parse error over a malformed record may hide too)."""
    problem, line = not_utf8_problem(source)
    if line is not None or "UTF8" in message or "UTF-8" in message:
        return f"{label} {problem}"
    if "straddl" in message:  # a row longer than a block
        return (
            f"a row after the first {rows_read:,} is longer than {block_size // 1024} KiB: "
            "a quote that never closes, or a value far longer than a customer file holds"
        )
    return f"{label} is not valid CSV: {message}"
