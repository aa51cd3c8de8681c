"""The first look at any CSV file: is it text at all, and how is it written (delimiter, BOM, line ends, decimals)?

Training, scoring and the column profile all read files through these rules, so one file is read one way.
"""

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Bytes a caller reads from the start of a file to check it and find its header line.
HEAD_BYTES = 64 * 1024
BOM = b"\xef\xbb\xbf"
# The delimiters a customer file may use: spreadsheets in locales with a decimal comma save with ';'.
DELIMITERS: tuple[str, ...] = (",", ";")
LINE_END = re.compile(r"\r\n|\r|\n")
# A number written with a decimal comma and nothing else ("1,5", "-12,75", and "1,5E-05" as spreadsheets in comma
# locales write small and large numbers, and as this project's writer does): read as a decimal point in ';' files.
# Thousands separators ("1.234,5") are left alone: they are not a plain number in either convention.
# The pattern's two groups are the whole part and the rest (fraction and exponent), for regex engines' replacements
# (RE2 in Arrow): `\1.\2` is the number with a decimal point.
DECIMAL_COMMA_PATTERN = "^([+-]?[0-9]+),([0-9]+(?:[eE][+-]?[0-9]+)?)$"
DECIMAL_COMMA = re.compile(DECIMAL_COMMA_PATTERN)
_QUOTED = re.compile(r'"(?:[^"]|"")*"?')
# Spreadsheets may end the header line, or every line, with the delimiter ("id;Income;Spending;"): an empty last
# field. Records ending with one are read with this name for it, which no file's header holds (a file holding a NUL
# is refused as binary); it never becomes a column, and a record with a value in it has a field too many.
UNNAMED_TAIL = "\x00unnamed last field"


# What a user does about a file that is not UTF-8: almost always a spreadsheet saved in its code page.
SAVE_AS_UTF8 = 'in Excel use Save As, "CSV UTF-8 (Comma delimited)", and send that file'


class NotCsvText(ValueError):
    """The file is empty, binary or not UTF-8; `problem` says which, to follow "the file" (`advised`: it also says
    what to do about it)."""

    def __init__(self, problem: str, *, advised: bool = False) -> None:
        super().__init__(problem)
        self.problem = problem
        self.advised = advised


def not_utf8_text(data: bytes, *, first_line: int = 1) -> tuple[str, int | None]:
    """Why `data` (a file's bytes from line `first_line` on) is not UTF-8, to follow "the file", and the line of its
    first bad byte: the line, the byte, what Windows-1252 reads it as, and what to do."""
    try:
        data.decode("utf-8")
        return f"is not UTF-8 text; {SAVE_AS_UTF8}", None
    except UnicodeDecodeError as exc:
        start = exc.start
    line = first_line + len(LINE_END.findall(data[:start].decode("utf-8", errors="replace")))
    byte = data[start]
    where = f"line {line}: the byte 0x{byte:02X}"
    # Windows-1252 is what Excel saves "CSV (Comma delimited)" in, in western Europe and the Americas (five of its
    # bytes are no character at all).
    if read := bytes([byte]).decode("cp1252", errors="ignore"):
        where += f", '{read}' in Windows-1252 as Excel saves \"CSV (Comma delimited)\""
    return f"is not UTF-8 text ({where}); {SAVE_AS_UTF8}", line


def first_not_utf8(path: Path, block: int = 1 << 20) -> tuple[str, int | None]:
    """not_utf8_text for a file on disk: read in blocks until the first byte that is not UTF-8 (a refusal's cost)."""
    lines = 1
    carry = b""
    with open(path, "rb") as file:
        while data := file.read(block):
            data = carry + data
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                if exc.start < len(data) - 4 or exc.reason != "unexpected end of data":
                    return not_utf8_text(data, first_line=lines)
            # A character cut by the block's end is read with the next one; "\r\n" is counted whole.
            cut = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
            if cut and data[cut - 1 : cut] == b"\r" and cut == len(data):
                cut -= 1
            lines += len(LINE_END.findall(data[:cut].decode("utf-8", errors="replace")))
            carry = data[cut:]
    return not_utf8_text(carry, first_line=lines)


@dataclass(frozen=True)
class HeadStyle:
    """How a file is written, from its first bytes: delimiter, header line, its line end, a BOM, whether the
    header line ended within the bytes seen (`complete`), and whether a line end closes it at all."""

    delimiter: str
    header_line: str
    line_end: str = "\n"
    bom: bool = False
    complete: bool = True
    header_ends: bool = True  # False: the file is its header line alone, with no line end
    first_row: tuple[str, ...] | None = None  # the first record's fields (None: no whole record in the bytes seen)

    @property
    def decimal_comma(self) -> bool:
        """Whether numbers such as "1,5" mean 1.5 in this file."""
        return uses_decimal_comma(self.delimiter)


def uses_decimal_comma(delimiter: str) -> bool:
    """Whether a file's numbers are written "1,5": a ';' file's are, read and written (the comma is free there)."""
    return delimiter == ";"


def decode_head(head: bytes) -> str:
    """The first bytes of a file as text (BOM dropped); NotCsvText when empty, binary or not UTF-8."""
    if not head.strip(b"\xef\xbb\xbf \t\r\n"):
        raise NotCsvText("is empty")
    if b"\x00" in head:
        raise NotCsvText("is not a CSV text file (it contains binary data)")
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the head is fine; anything earlier is not UTF-8.
        if exc.start < len(head) - 4:
            raise NotCsvText(not_utf8_text(head)[0], advised=True) from None
        return head[: exc.start].decode("utf-8-sig")


def sniff_delimiter(header_line: str) -> str:
    """';' when the header line holds more semicolons than commas outside quoted names, else ','."""
    bare = _QUOTED.sub("", header_line)
    return ";" if bare.count(";") > bare.count(",") else ","


def sniff_head(head: bytes, delimiter: str | None = None) -> HeadStyle:
    """How the file starting with `head` is written (`delimiter`: given, else sniffed); NotCsvText when not text."""
    text = decode_head(head)
    end = LINE_END.search(text)
    header_line = text[: end.start()] if end else text
    delimiter = delimiter or sniff_delimiter(header_line)
    return HeadStyle(
        delimiter=delimiter,
        header_line=header_line,
        line_end=end.group() if end else "\n",
        bom=head.startswith(BOM),
        complete=end is not None or len(head) < HEAD_BYTES,
        header_ends=end is not None,
        first_row=first_record(text[end.end() :], delimiter, whole=len(head) < HEAD_BYTES) if end else None,
    )


def first_record(body: str, delimiter: str, *, whole: bool) -> tuple[str, ...] | None:
    """The fields of the first record of the text after a header line; None when it holds none (`whole`: the text
    runs to the end of the file, else its last line may be cut short and is not read)."""
    if not whole:
        body = body[: max(body.rfind("\n"), body.rfind("\r")) + 1]
    try:
        return next((tuple(row) for row in csv.reader(io.StringIO(body, newline=""), delimiter=delimiter) if row), None)
    except csv.Error:  # a quote the cut leaves open: no record known
        return None


def row_names(header: Sequence[str], first_row: Sequence[str] | None) -> list[str]:
    """The names to read a file's records with, from its header's (stripped) names and its first record.

    A header ending with the delimiter (an empty last name) over records that do not (`id;a;b;` over `1;2;3`) loses
    that name; a first record ending with one more, empty, field than the header names (`1;2;3;` under `id;a;b`, or
    under `id;a;b;`) has it read as UNNAMED_TAIL. Anything else is the header as it is: a record of another width is
    a record without the header's number of fields, as ever.
    """
    header = list(header)
    named = header[:-1] if len(header) > 1 and not header[-1] and any(header[:-1]) else header
    if first_row is None:
        return named  # no record fills the empty name
    if len(named) < len(header) and len(first_row) == len(named):
        return named
    if len(first_row) == len(named) + 1 and not first_row[-1].strip():
        return [*named, UNNAMED_TAIL]
    return header


def decimal_point(value: str) -> str:
    """A value with its decimal comma read as a point ("1,5" -> "1.5"); anything else as it is."""
    return value.replace(",", ".") if DECIMAL_COMMA.match(value.strip()) else value


def whole_lines(data: bytes) -> bytes:
    """The bytes up to the last line end that is outside a quoted value: a cut file's head that still parses."""
    quotes = data.count(b'"')
    end = len(data)
    while True:
        cut = max(data.rfind(b"\n", 0, end), data.rfind(b"\r", 0, end))
        if cut < 0:
            return b""
        quotes -= data.count(b'"', cut, end)
        if quotes % 2 == 0:  # an even number of quotes before it: the line end is not inside a value
            return data[: cut + 1]
        end = cut
