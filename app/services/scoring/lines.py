"""Which line of a CSV file each row starts on, when quoted values hold line breaks; and quotes that never close.

Arrow's reader numbers records, not lines: a quoted value with line breaks (valid CSV) makes its record span
several lines, and moves every later line number by as many. A quote that never closes is valid CSV to the reader
too: it swallows every line up to the next quote, or to the end of the file, into one value. When that leaves the
record short, the reader reports it (`unclosed`); when it does not (the quote opened in the last column), the
value gives it away: one of its lines is a whole customer row, or it runs to the end of the file.
"""

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from app.core.errors import InvalidRequest
from app.services.scoring.columns import Columns
from app.utils.csv_head import UNNAMED_TAIL
from app.utils.csv_rows import LINE_BREAK, has_line_break, unclosed_quote_text, value_lines
from app.utils.numbers import DECIMAL


@dataclass(frozen=True)
class ChunkLines:
    """Where one chunk's rows are in the file."""

    first_line: int  # the line the chunk's first record starts on
    malformed: list[int]  # the lines of the records the reader could not split (left out of the table)
    rows: np.ndarray | None  # each row's line, when values of the chunk hold line breaks (None: one line a record)
    overfull: np.ndarray | None = None  # rows with a value in the unnamed field the records end with (None: none)


def customer_row_pattern(columns: Columns, delimiter: str, *, unnamed_tail: bool = False) -> str:
    """A regex for a line break followed by a whole row of the header's width with a number in every feature (and
    an empty last field, with `unnamed_tail`: rows that end with the delimiter)."""
    escaped = "\\" + delimiter
    field = f"[^{escaped}\\r\\n]*"
    number = f"[ \\t]*{DECIMAL}[ \\t]*"
    features = set(columns.features.values())
    parts: list[str] = []
    # Other columns in a row are one repeated group: a 1,000-column header stays a short regex, and a run stays
    # under RE2's limit of 1,000 repeats (MAX_COLUMNS).
    run = 0
    for name in columns.names:
        if name in features:
            parts.append(f"(?:{field}{escaped}){{{run}}}{number}" if run else number)
            run = 0
        else:
            run += 1
    body = escaped.join(parts)
    if run:
        body += f"(?:{escaped}{field}){{{run}}}"
    if unnamed_tail:
        body += f"{escaped}[ \\t]*"
    return f"(?:{LINE_BREAK}){body}(?:{LINE_BREAK}|$)"


def swallowed_row(table: pa.Table, pattern: str) -> tuple[int, str] | None:
    """The first row, and its column, whose value swallowed a whole customer row (`pattern`); None when none did."""
    found = []
    for name in table.column_names:
        column = table.column(name)
        if has_line_break(column):
            swallowed = np.asarray(pc.match_substring_regex(column, pattern), dtype=bool)
            if swallowed.any():
                found.append((int(np.argmax(swallowed)), name))
    return min(found) if found else None


def unclosed_quote(where: str, spans: int, column: str | None = None) -> InvalidRequest:
    """The refusal of a quote that never closes, `where` its row starts ("line 12")."""
    return InvalidRequest(unclosed_quote_text(where, spans, column))


class LineCounter:
    """Line numbers of a CSV file's chunks, in order; refuses a quote that never closes, under every policy."""

    def __init__(self, columns: Columns, delimiter: str, *, ends_with_quote: bool, unnamed_tail: bool = False) -> None:
        self.columns = columns
        self.record = 2  # the next chunk's first record (the header is record 1)
        self.breaks = 0  # line breaks inside the values of the records placed so far
        self._pattern = customer_row_pattern(columns, delimiter, unnamed_tail=unnamed_tail)
        self._ends_with_quote = ends_with_quote

    def line_of(self, record: int) -> int:
        """The line a record after every placed chunk starts on (exact up to that record's own chunk)."""
        return record + self.breaks

    def place(
        self, table: pa.Table, malformed: list[int], unclosed: dict[int, int], *, last: bool
    ) -> tuple[ChunkLines, list[int]]:
        """The lines of a chunk's rows and of the malformed records among its own, and the malformed records that
        come after it (left for the next chunk); InvalidRequest for a quote that never closes."""
        n = table.num_rows
        numbers = np.array(sorted(malformed), dtype=np.int64)
        # The i-th malformed record falls inside the chunk when fewer than n rows come before it: a prefix.
        mine = numbers if last else numbers[numbers - np.arange(len(numbers)) < self.record + n]
        later = [int(number) for number in numbers[len(mine) :]]
        records = np.arange(self.record, self.record + n + len(mine))
        good = records[~np.isin(records, mine)]
        breaks = self._breaks(table)
        if breaks is None:
            lines = ChunkLines(self.line_of(self.record), [self.line_of(int(m)) for m in mine], None)
        else:
            before = np.cumsum(breaks) - breaks
            rows = good + self.breaks + before
            # A malformed record starts after every good row before it, and their line breaks.
            passed = np.searchsorted(good, mine)
            ahead = np.concatenate([[0], np.cumsum(breaks)])[passed]
            lines = ChunkLines(
                self.line_of(self.record), [int(m) for m in mine + self.breaks + ahead], rows.astype(np.int64)
            )
            # At the end of the file, unless malformed records follow its last row.
            at_end = last and bool(n) and not (len(mine) and mine[-1] > good[-1])
            self._refuse_swallowed(table, rows, at_end=at_end)
        for record, line in zip(mine.tolist(), lines.malformed, strict=True):
            if record in unclosed:
                raise unclosed_quote(f"line {line}", unclosed[record])
        self.record += n + len(mine)
        self.breaks += 0 if breaks is None else int(breaks.sum())
        return lines, later

    def _breaks(self, table: pa.Table) -> np.ndarray | None:
        """Line breaks inside each row's values, or None when there are none (the usual chunk: one byte scan)."""
        broken = [name for name in table.column_names if has_line_break(table.column(name))]
        if not broken:
            return None
        counts = np.zeros(table.num_rows, dtype=np.int64)
        for name in broken:
            counts += np.asarray(pc.count_substring_regex(table.column(name), LINE_BREAK), dtype=np.int64)
        return counts

    def _refuse_swallowed(self, table: pa.Table, rows: np.ndarray, *, at_end: bool) -> None:
        """Refuse the first value that swallowed whole customer rows, or that runs on to the end of the file
        (`at_end`: the chunk's last row is the file's last record)."""
        first = swallowed_row(table, self._pattern)
        found = [first] if first is not None else []
        last = table.column_names[-1]
        if at_end and not self._ends_with_quote and has_line_break(table.column(last).slice(table.num_rows - 1)):
            # The file's last value holds a line break, so it was quoted, yet the file does not end with a quote:
            # the reader reached the end of the file inside it.
            found.append((table.num_rows - 1, last))
        if found:
            row, name = min(found)
            spans = value_lines(table.column(name)[row].as_py())
            raise unclosed_quote(f"line {rows[row]}", spans, None if name == UNNAMED_TAIL else name)
