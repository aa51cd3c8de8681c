"""Text a spreadsheet would run as a formula, made inert in the labelled CSV, as OWASP's CSV injection advice says.

Excel, LibreOffice and Google Sheets run a cell that starts with `=`, `+`, `-` or `@` as a formula, some of them
after a leading tab, carriage return or line feed, and Excel in an East Asian locale one that starts with the
full-width `＝`, `＋`, `－` or `＠` too: `=HYPERLINK(...)` leaks data, `+cmd|...` runs a command. Such a cell gets
a leading `'`, which makes a spreadsheet read the rest as text. The rule is per cell, never per column:
a streamed column can be numbers in one chunk and text in the next, and a number is never changed (`-5` stays
`-5`).
"""

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FORMULA_STARTS = "=+-@\t\r\n\uff1d\uff0b\uff0d\uff20"  # the last four: full-width = + - @
GUARD = "'"
# A plain number: a sign, then digits with decimal points or commas (either locale, thousands too), an exponent.
# Nothing made of these can call a function, so such a cell stays as it is.
NUMBER = r"[+-]?[0-9.,]*[0-9][0-9.,]*(?:[eE][+-]?[0-9]+)?"
_NUMBER = re.compile(NUMBER)
# The first UTF-8 byte of each. A full-width sign is three bytes, EF BC and one of its own: many other characters
# (half-width katakana, full-width letters) start with EF too, so a cell starting with it is read to its third byte.
_STARTS = np.zeros(256, dtype=bool)
_STARTS[[start.encode()[0] for start in FORMULA_STARTS]] = True
_WIDE_FIRST, _WIDE_SECOND = 0xEF, 0xBC
_WIDE_THIRD = np.zeros(256, dtype=bool)
_WIDE_THIRD[[start.encode()[2] for start in FORMULA_STARTS if len(start.encode()) == 3]] = True


def guard_text(text: str) -> str:
    """One cell (a header name, say) with a leading `'` when a spreadsheet would run it as a formula."""
    if text[:1] and text[0] in FORMULA_STARTS and not _NUMBER.fullmatch(text):
        return GUARD + text
    return text


def guard_formulas(column: pa.Array) -> pa.Array:
    """A text column with a leading `'` on each cell a spreadsheet would run as a formula.

    Vectorised: the first byte of every cell is read from the column's buffer at once, and only the cells that
    start with a formula character are matched against a number.
    """
    n = len(column)
    _, offsets, data = column.buffers()
    if not n or data is None:
        return column
    bounds = np.frombuffer(offsets, dtype=np.int32)[column.offset : column.offset + n + 1]
    raw = np.frombuffer(data, dtype=np.uint8)
    if not raw.size:
        return column
    starts = bounds[:-1]
    # An empty cell's start is the next cell's (or past the end): read anyway, then dropped, which costs less
    # than picking the filled cells first.
    first = raw[np.minimum(starts, raw.size - 1)]
    risky = np.flatnonzero(_STARTS[first] & (bounds[1:] > starts))
    wide = first[risky] == _WIDE_FIRST
    if wide.any():
        at = starts[risky[wide]]
        whole = bounds[risky[wide] + 1] - at >= 3
        second, third = raw[np.minimum(at + 1, raw.size - 1)], raw[np.minimum(at + 2, raw.size - 1)]
        keep = ~wide
        keep[wide] = whole & (second == _WIDE_SECOND) & _WIDE_THIRD[third]
        risky = risky[keep]
    if not len(risky):
        return column
    # A full-width sign is never part of a number, so those cells are all guarded.
    number = np.asarray(pc.match_substring_regex(column.take(pa.array(risky)), f"^{NUMBER}$"), dtype=bool)
    formulas = risky[~number]
    if not len(formulas):
        return column
    guard = np.zeros(n, dtype=bool)
    guard[formulas] = True
    return pc.if_else(pa.array(guard), pc.binary_join_element_wise(GUARD, column, ""), column)
