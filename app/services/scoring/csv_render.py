"""CSV out: a scored chunk's (or any table's) rows as CSV text, vectorised in Arrow, written on a worker thread.

Every cell is rendered as the csv module's QUOTE_MINIMAL would write it, formulas made inert; a scored chunk's
coded columns (segment names, flags, reasons, rounded confidence) are rendered once per label and picked per row.
"""

import csv
import functools
import io
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from app.services.scoring.chunk import Coded, ScoredChunk
from app.services.scoring.formulas import guard_formulas, guard_text
from app.utils.csv_head import uses_decimal_comma

BOM = "\ufeff".encode()


@dataclass(frozen=True)
class CsvStyle:
    """How a labelled CSV is written: the input's delimiter and line ends, a BOM for Excel, formulas made inert."""

    delimiter: str = ","
    line_end: str = "\n"
    bom: bool = False
    formula_guard: bool = True


def _quote(column: pa.Array, delimiter: str) -> pa.Array:
    """Quote the values that need it, as the csv module's QUOTE_MINIMAL does."""
    data = column.buffers()[2]
    if data is None:
        return column
    raw = data.to_pybytes()
    if delimiter.encode() not in raw and b'"' not in raw and b"\n" not in raw and b"\r" not in raw:
        return column
    needs = pc.match_substring_regex(column, f'[{delimiter}"\r\n]')
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(column, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, column)


def csv_text_columns(table: pa.Table, *, formula_guard: bool = True, decimal_comma: bool = False) -> list[pa.Array]:
    """Every column as text: empty for nulls, `true`/`false` for booleans, shortest round-trip floats (with a
    decimal comma for `decimal_comma`); with `formula_guard`, a leading `'` on each cell a spreadsheet would run."""
    out = []
    for column in table.columns:
        column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        # A number's or a boolean's text (a sign, digits, a point, an exponent, inf, nan; true, false) cannot call
        # anything: only text is looked at.
        text = not (_is_number(column.type) or pa.types.is_boolean(column.type))
        floating = pa.types.is_floating(column.type) or pa.types.is_decimal(column.type)
        if pa.types.is_float64(column.type):
            column = _float_texts(column)
        elif not pa.types.is_string(column.type):
            column = pc.cast(column, pa.string())
        if decimal_comma and floating:
            column = pc.replace_substring(column, ".", ",")
        column = pc.fill_null(column, "")
        out.append(guard_formulas(column) if formula_guard and text else column)
    return out


# Where orjson writes a double exactly as Arrow's cast does: shortest round-trip digits without an exponent. Outside
# it they differ (Arrow: "0.000005", "1e+15", "3"; orjson: "5e-6", "1000000000000000.0", "3.0"): checked in tests.
_SAME_TEXT = (1e-4, 1e9)


def _float_texts(column: pa.Array) -> pa.Array:
    """A float64 column's cells as Arrow's cast writes them (nulls stay null), three times faster: a distance's
    digits are most of a labelled file's number text. orjson writes the whole column at once; its items are then
    cut apart at the commas. A chunk with a value outside _SAME_TEXT (or a whole number) is cast instead."""
    values = column.to_numpy(zero_copy_only=False)
    magnitude = np.abs(values)
    with np.errstate(invalid="ignore"):
        usual = (magnitude >= _SAME_TEXT[0]) & (magnitude < _SAME_TEXT[1]) & (values != np.floor(values))
    if column.null_count:
        usual |= np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if not usual.all():
        return pc.cast(column, pa.string())
    items = orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1]  # a null is NaN here: "null", masked
    commas = np.flatnonzero(np.frombuffer(items, dtype=np.uint8) == ord(","))
    offsets = np.empty(len(values) + 1, dtype=np.int32)
    offsets[0] = 0
    offsets[1:-1] = commas - np.arange(len(commas))
    offsets[-1] = len(items) - len(commas)
    validity = pc.is_valid(column).buffers()[1] if column.null_count else None
    return pa.StringArray.from_buffers(
        len(values), pa.py_buffer(offsets), pa.py_buffer(items.replace(b",", b"")), validity, column.null_count
    )


def _is_number(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)


def csv_header(names: list[str], style: CsvStyle) -> bytes:
    """The header line of a CSV file (after a BOM when asked for), quoted as the csv module quotes it."""
    buffer = io.StringIO()
    if style.formula_guard:
        names = [guard_text(name) for name in names]
    csv.writer(buffer, delimiter=style.delimiter, lineterminator=style.line_end).writerow(names)
    return (BOM if style.bom else b"") + buffer.getvalue().encode()


def csv_chunks(chunks: Iterable[pa.Table | ScoredChunk], style: CsvStyle) -> Iterator[bytes]:
    """The CSV bytes of each table (or scored chunk), in order, each rendered on a worker thread while the next
    one is read and scored: Arrow's casts and joins release the GIL, so the two overlap on two cores. At most two
    chunks are in flight, so memory stays bounded."""
    with ThreadPoolExecutor(1, thread_name_prefix="csv-render") as pool:
        pending: Future[bytes] | None = None
        for chunk in chunks:
            rendering = pool.submit(render_chunk, chunk, style)
            if pending is not None:
                yield pending.result()
            pending = rendering
        if pending is not None:
            yield pending.result()


def write_csv(
    chunks: Iterable[pa.Table | ScoredChunk],
    style: CsvStyle,
    sink: BinaryIO,
    *,
    progress: Callable[[], None] | None = None,
) -> None:
    """Write each chunk's CSV bytes to `sink`, rendered and written on a worker thread while the next chunk is
    read and scored (Arrow's casts and joins and the file's writes release the GIL). One chunk waits while one is
    written, so memory stays bounded; `progress` is called as each chunk is handed over."""
    with ThreadPoolExecutor(1, thread_name_prefix="csv-write") as pool:
        pending: Future[int] | None = None
        for chunk in chunks:
            # The write before is waited for first: after a failed one nothing more goes to the sink. The next
            # chunk was still read and scored meanwhile, and one worker renders one chunk at a time anyway.
            if pending is not None:
                pending.result()
            pending = pool.submit(lambda chunk=chunk: sink.write(render_chunk(chunk, style)))
            if progress is not None:
                progress()
        if pending is not None:
            pending.result()


def render_chunk(chunk: pa.Table | ScoredChunk, style: CsvStyle) -> bytes:
    """One table's or scored chunk's rows as CSV bytes in the given style."""
    if isinstance(chunk, ScoredChunk):
        return scored_csv_bytes(chunk, style)
    return csv_bytes(chunk, style.delimiter, line_end=style.line_end, formula_guard=style.formula_guard)


def csv_bytes(table: pa.Table, delimiter: str, *, line_end: str = "\n", formula_guard: bool = True) -> bytes:
    """Render a table's rows as CSV bytes (minimal quoting, formulas guarded unless told), vectorised in Arrow."""
    if not table.num_rows:
        return b""
    texts = [
        _quote(column, delimiter)
        for column in csv_text_columns(table, formula_guard=formula_guard, decimal_comma=uses_decimal_comma(delimiter))
    ]
    # The line end joins the last column rather than whole lines: one copy of the lines, not two.
    texts[-1] = pc.binary_join_element_wise(texts[-1], pa.scalar(line_end, pa.string()), "")
    return _lines_bytes(texts, delimiter)


def _lines_bytes(texts: list[pa.Array], delimiter: str) -> bytes:
    """The text columns joined into lines (each column's text already quoted, the last one ending the line)."""
    lines = pc.binary_join_element_wise(*texts, delimiter)
    # The lines' characters are one contiguous buffer: exactly the CSV body.
    _, offsets, data = lines.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int32)[[lines.offset, lines.offset + len(lines)]]
    return data[int(bounds[0]) : int(bounds[1])].to_pybytes()


# Adjacent coded columns (a segment's id and name; the flags and the error) are rendered as one when their labels'
# combinations stay this few: one take a row for all of them instead of one each, and fewer columns to join.
MAX_COMBINED_LABELS = 4096
# A rounded number column becomes a coded one when its values span fewer steps of its last decimal than this
# (confidence: 10,001 from 0 to 1): each text is then cast once, not once a row.
MAX_STEP_LABELS = 1 << 16


def scored_csv_bytes(chunk: ScoredChunk, style: CsvStyle) -> bytes:
    """A scored chunk's rows as CSV: the same bytes as `csv_bytes(chunk.table, ...)`, the input columns rendered
    alike, and each coded column's labels rendered once (then picked per row) rather than every cell."""
    if not chunk.num_rows:
        return b""
    delimiter, guard = style.delimiter, style.formula_guard
    # Per-row texts, or (rendered labels, each row's label) for coded columns; "" ends every label list.
    parts: list[pa.Array | tuple[pa.Array | tuple[str, ...], np.ndarray]] = [
        _quote(column, delimiter)
        for column in csv_text_columns(chunk.inputs, formula_guard=guard, decimal_comma=uses_decimal_comma(delimiter))
    ]
    for column, data in chunk.appended:
        if not isinstance(data, Coded) and column.decimals is not None:
            data = _stepped(data, column.decimals, style) or data
        if isinstance(data, tuple):
            parts.append(data)
            continue
        if not isinstance(data, Coded):
            parts.append(_quote(_text(data, style), delimiter))
            continue
        labels = _rendered(tuple(data.labels.to_pylist()), data.labels.type, style)
        first, picks = parts[-1] if isinstance(parts[-1], tuple) else (None, None)
        if isinstance(first, tuple) and picks is not None and len(first) * len(labels) <= MAX_COMBINED_LABELS:
            parts[-1] = (_combined(first, labels, delimiter), picks * np.int32(len(labels)) + data.codes())
        else:
            parts.append((labels, data.codes()))
    last = parts[-1]
    line_end = pa.scalar(style.line_end, pa.string())
    if isinstance(last, tuple):  # the line end goes on each label: no pass over the rows
        labels = last[0]
        ended = _combined(labels, (style.line_end,), "") if isinstance(labels, tuple) else None
        parts[-1] = (pc.binary_join_element_wise(labels, line_end, "") if ended is None else ended, last[1])
    else:
        parts[-1] = pc.binary_join_element_wise(last, line_end, "")
    texts = [
        pc.take(_label_array(part[0]) if isinstance(part[0], tuple) else part[0], pa.array(part[1], pa.int32()))
        if isinstance(part, tuple)
        else part
        for part in parts
    ]
    return _lines_bytes(texts, delimiter)


def _text(array: pa.Array, style: CsvStyle) -> pa.Array:
    """One array's cells as csv_text_columns renders them in a style."""
    table = pa.table([array], ["_"])
    return csv_text_columns(
        table, formula_guard=style.formula_guard, decimal_comma=uses_decimal_comma(style.delimiter)
    )[0]


# A run renders the same few label lists (segment names, flags, reasons) in every chunk: rendered once each. The
# caches are small: a run uses a handful of entries, and a combined list holds up to MAX_COMBINED_LABELS texts.
@functools.lru_cache(maxsize=256)
def _rendered(labels: tuple[object, ...], kind: pa.DataType, style: CsvStyle) -> tuple[str, ...]:
    """A coded column's labels as CSV cells, then "" for an empty cell."""
    return tuple(_labels(pa.array(labels, kind), style).to_pylist())


@functools.lru_cache(maxsize=32)
def _combined(first: tuple[str, ...], second: tuple[str, ...], delimiter: str) -> tuple[str, ...]:
    """Every pair of labels of two adjacent coded columns, in pick order (first * len(second) + second)."""
    return tuple(a + delimiter + b for a in first for b in second)


@functools.lru_cache(maxsize=32)
def _label_array(labels: tuple[str, ...]) -> pa.Array:
    """Rendered labels as one Arrow array to take from."""
    return pa.array(labels, pa.string())


def _labels(labels: pa.Array, style: CsvStyle) -> pa.Array:
    """A coded column's labels as CSV cells, then "" for an empty cell."""
    text = _quote(_text(labels, style), style.delimiter)
    return pa.concat_arrays([text, pa.array([""], pa.string())])


# Rendered steps of rounded columns, by (decimals, style): (first step, texts); grown to every range seen, so a
# run's chunks render their ten thousand confidence texts once, not once a chunk.
_STEP_TEXTS: dict[tuple[int, CsvStyle], tuple[int, int, pa.Array]] = {}


def _stepped(array: pa.Array, decimals: int, style: CsvStyle) -> tuple[pa.Array, np.ndarray] | None:
    """A column rounded to `decimals` as (texts of each step of its last decimal, each row's step); None when its
    range is wide, or a value is not exactly its step (-0.0, say): each cell is then cast."""
    values = np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)
    missing = np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool) if array.null_count else None
    scale = 10.0**decimals
    with np.errstate(invalid="ignore", over="ignore"):
        steps = np.rint(values * scale)
    if missing is not None:
        steps[missing] = np.nan
    known = steps if missing is None else steps[~missing]
    if not known.size:
        return None
    low, high = float(known.min()), float(known.max())
    if not (np.isfinite(low) and np.isfinite(high)) or high - low >= MAX_STEP_LABELS:
        return None
    cached = _STEP_TEXTS.get((decimals, style))
    if cached is not None and cached[0] <= low and high <= cached[1]:
        first, last, texts = cached
    else:
        first, last = (low, high) if cached is None else (min(low, cached[0]), max(high, cached[1]))
        if last - first >= MAX_STEP_LABELS:
            first, last = low, high
        # As np.round makes each value: its step over the scale; rendered as any float cell is.
        texts = _labels(pa.array(np.arange(first, last + 1) / scale, pa.float64()), style)
        _STEP_TEXTS[(decimals, style)] = (first, last, texts)
    picks = np.nan_to_num(steps - first).astype(np.int32)
    exact = (picks + first) / scale == values  # the very number of its step (-0.0 is not: its text differs)
    exact &= ~np.signbit(values) | (values != 0)
    if not (exact if missing is None else exact | missing).all():
        return None
    if missing is not None:
        picks[missing] = len(texts) - 1
    return texts, picks
