"""A training dataset read in partitions for Dask: CSV byte blocks or Parquet row groups, cleaned one at a time.

Each partition is read and cleaned by the local trainer's rules (app/models/dataset.py): a CSV block by the same
reader (app.utils.csv_rows, with the header line in front of it), the same columns are found
(features.find_column), the same rows are dropped for the same reasons, counted per reason. What cannot be
done one partition at a time is not done: a customer_id repeated in two partitions is kept twice.
"""

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from app.core.errors import InvalidDataset
from app.models.dataset import _MISSING, _NAN, _PADDED_DECIMAL_COMMA, data_file
from app.models.features import (
    Feature,
    columns_read_alike,
    find_column,
    normalise_columns,
    too_large,
    too_large_reason,
    wanted_columns,
)
from app.utils.csv_head import BOM, HEAD_BYTES, UNNAMED_TAIL, NotCsvText, row_names, sniff_head
from app.utils.csv_ranges import file_record_ranges
from app.utils.csv_rows import WRONG_FIELDS, Malformed, UnreadableRows, read_rows

# CSV text read as str costs ~10x its size in pandas: 16 MB blocks stay well within a 1 GB worker.
CSV_BLOCK_BYTES = 16 * 1024 * 1024
# Parquet row groups are read together up to about this many rows per partition.
PARQUET_PART_ROWS = 1_000_000
PARQUET_SUFFIXES = (".parquet", ".pq")
DEMOGRAPHICS = ("age", "gender")


@dataclass
class CleanPart:
    """One partition's usable rows (features in their own units), demographics, and what was dropped; for a CSV
    block, its records without the header's number of fields (the first one's line counted from the block's start,
    the header line being line 1) and the lines the block spans."""

    X: np.ndarray
    n_input: int
    dropped: dict[str, int]
    demographics: dict[str, np.ndarray] = field(default_factory=dict)
    malformed: Malformed = field(default_factory=Malformed)
    lines: int = 0


@dataclass(frozen=True)
class Reader:
    """How to turn one raw partition into a CleanPart: picklable, sent to the workers with every task."""

    kind: str  # "csv" (a partition is a (start, stop) byte range of whole lines) or "parquet" (row group indices)
    path: str
    specs: tuple[Feature, ...]
    found: dict[str, str]  # feature name -> the file's own column
    extras: dict[str, str]  # customer_id / age / gender (when not features) -> the file's own column
    decimal_comma: bool = False
    names: tuple[str, ...] = ()  # a CSV file's header, normalised; then UNNAMED_TAIL when its records end with one
    delimiter: str = ","
    header_bytes: int = 0  # a CSV file's header line, BOM and line end included

    def clean(self, raw: Any, *, demographics: bool = True) -> CleanPart:
        """The partition's rows, cleaned as the local trainer cleans a file (age and gender when `demographics`)."""
        extras = self.extras if demographics else {k: v for k, v in self.extras.items() if k not in DEMOGRAPHICS}
        wanted = sorted({*self.found.values(), *extras.values()})
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            table = pq.ParquetFile(self.path).read_row_groups(list(raw), columns=wanted)
            columns = {name: _arrow_cells(table.column(name)) for name in wanted}
            return _clean(columns, table.num_rows, self.specs, self.found, extras)
        rows = read_rows(self.block(*raw), names=self.names, delimiter=self.delimiter, include=wanted, label=self.path)
        columns = {name: _text_cells(rows.table.column(name).to_pandas(), self.decimal_comma) for name in wanted}
        return _clean(columns, rows.table.num_rows, self.specs, self.found, extras, rows.malformed, rows.lines)

    @property
    def columns(self) -> tuple[str, ...]:
        """A CSV file's columns (its header, normalised), without the unnamed field its records may end with."""
        return self.names[:-1] if self.names[-1:] == (UNNAMED_TAIL,) else self.names

    def block(self, start: int, stop: int) -> bytes:
        """The header line, then the bytes of a range of whole lines: its records numbered as in the whole file."""
        with open(self.path, "rb") as file:
            header = file.read(self.header_bytes)
            file.seek(start)
            return header + file.read(stop - start)


def locate_unreadable(reader: Reader, parts: list[Any]) -> UnreadableRows | None:
    """The first block of a CSV dataset that cannot be read, its problem placed in the whole file, or None when every
    block reads. A worker numbers the lines and rows of its own block only: this reads the blocks in order, one at a
    time, on this machine (the error path only)."""
    lines = rows = 0
    for start, stop in parts:
        try:
            read = read_rows(
                reader.block(start, stop),
                names=reader.names,
                delimiter=reader.delimiter,
                include=(),
                label=reader.path,
            )
        except UnreadableRows as exc:
            return exc.moved(lines=lines, rows=rows)
        lines, rows = lines + read.lines, rows + read.table.num_rows
    return None


def _text_cells(series: pd.Series, decimal_comma: bool) -> pd.Series:
    """A text column as the local trainer sees it: stripped, decimal commas of ';' files read as points."""
    text = series.fillna("").astype(str)
    if decimal_comma:
        text = text.str.replace(_PADDED_DECIMAL_COMMA, r"\1.\2", regex=True)
    return text.str.strip()


def _arrow_cells(column: Any) -> pd.Series | tuple[np.ndarray, np.ndarray]:
    """A Parquet column: numbers as (values, null mask), anything else as text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        values = column.cast(pa.float64()).to_numpy()  # nulls become NaN; the mask tells them apart
        return values, column.is_null().to_numpy(zero_copy_only=False)
    text = pc.cast(column, pa.string()).to_pandas()
    return _text_cells(text, decimal_comma=False)


def _numbers(cells: pd.Series | tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, ...]:
    """(values, missing, non-numeric, NaN or infinite) masks of one feature's cells, as the local trainer finds them."""
    if isinstance(cells, tuple):
        values, null = cells
        return values, null, np.zeros(len(values), dtype=bool), ~null & ~np.isfinite(values)
    values = pd.to_numeric(cells, errors="coerce")
    lowered = cells.str.lower()
    empty = (cells.eq("") | lowered.isin(_MISSING)).to_numpy()
    nan_text = lowered.isin(_NAN).to_numpy()
    numbers = values.to_numpy(dtype=np.float64)
    return numbers, empty, np.isnan(numbers) & ~empty & ~nan_text, nan_text | np.isinf(numbers)


def _clean(
    columns: dict[str, Any],
    n: int,
    specs: tuple[Feature, ...],
    found: dict[str, str],
    extras: dict[str, str],
    malformed: Malformed | None = None,
    lines: int = 0,
) -> CleanPart:
    """Drop a partition's unusable rows with a count per reason (the reasons and order of clean_customers)."""
    malformed = malformed or Malformed()
    keep = np.ones(n, dtype=bool)
    dropped: dict[str, int] = {WRONG_FIELDS: malformed.count} if malformed.count else {}

    def drop(reason: str, mask: np.ndarray) -> None:
        if not mask.any():  # the common case, and the cheap test
            return
        newly = mask & keep
        if newly.any():
            dropped[reason] = dropped.get(reason, 0) + int(newly.sum())
            keep[newly] = False

    X = np.empty((n, len(specs)), dtype=np.float64, order="F")  # column by column, here and in the passes
    for i, spec in enumerate(specs):
        values, missing, non_numeric, not_finite = _numbers(columns[found[spec.name]])
        drop(f"missing {spec.name}", missing)
        drop(f"non-numeric {spec.name}", non_numeric)
        drop(f"NaN or infinite {spec.name}", not_finite)
        with np.errstate(invalid="ignore"):
            outside = (values < spec.minimum) | (values > spec.maximum)
        drop(f"{spec.name} out of range ({spec.range_text()})", outside)
        drop(too_large_reason(spec.name), too_large(values))
        X[:, i] = values
    if "customer_id" in extras:
        cells = columns[extras["customer_id"]]
        drop("missing customer_id", cells[1] if isinstance(cells, tuple) else cells.eq("").to_numpy())
    demographics: dict[str, np.ndarray] = {}
    if "age" in extras:
        cells = columns[extras["age"]]
        age = cells[0] if isinstance(cells, tuple) else pd.to_numeric(cells, errors="coerce").to_numpy(np.float64)
        demographics["age"] = age[keep]
    if "gender" in extras:
        cells = columns[extras["gender"]]
        text = cells if not isinstance(cells, tuple) else pd.Series(cells[0]).astype(str).where(~cells[1], "")
        demographics["gender"] = text[keep].str.capitalize().to_numpy()
    return CleanPart(
        X=X if keep.all() else X[keep],
        n_input=n + malformed.count,
        dropped=dropped,
        demographics=demographics,
        malformed=malformed,
        lines=lines,
    )


def _found(own: list[str], specs: Sequence[Feature]) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """A file's header normalised, the columns holding each feature and the extra known columns, from its own names;
    InvalidDataset, as the local trainer's, when two of them are read as one."""
    problem = columns_read_alike(own)
    if problem:
        raise InvalidDataset(problem)
    columns = normalise_columns(own)
    found = {spec.name: find_column(columns, spec) for spec in specs}
    missing = [spec for spec in specs if found[spec.name] is None]
    if missing:
        raise InvalidDataset(
            f"missing required column(s): {wanted_columns(missing)}; found: {', '.join(map(str, columns))}"
        )
    names = {spec.name for spec in specs}
    extras = {name: name for name in ("customer_id", *DEMOGRAPHICS) if name in columns and name not in names}
    return columns, {name: str(column) for name, column in found.items()}, extras


def is_parquet(path: Path) -> bool:
    """Whether a dataset is read as Parquet (by its suffix, or a folder of Parquet files)."""
    return path.suffix.lower() in PARQUET_SUFFIXES


def open_dataset(path: str | Path, specs: Sequence[Feature], *, client: Any = None) -> tuple[Reader, list[Any]]:
    """The reader and the raw partitions of a CSV or Parquet file; InvalidDataset for what the header shows. A CSV
    file's quotes are counted on the workers of a Dask `client` when one is given."""
    path = data_file(path)
    return _open_parquet(path, specs) if is_parquet(path) else _open_csv(path, specs, client)


def _open_parquet(path: Path, specs: Sequence[Feature]) -> tuple[Reader, list[Any]]:
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise InvalidDataset(f"{path} is not a valid Parquet file: {str(exc).splitlines()[0]}") from None
    own = list(file.schema_arrow.names)
    normalised, found, extras = _found(own, specs)
    original = dict(zip(normalised, own, strict=True))
    parts: list[tuple[int, ...]] = []
    group: list[int] = []
    rows = 0
    for index in range(file.num_row_groups):
        group.append(index)
        rows += file.metadata.row_group(index).num_rows
        if rows >= PARQUET_PART_ROWS:
            parts.append(tuple(group))
            group, rows = [], 0
    if group:
        parts.append(tuple(group))
    reader = Reader(
        kind="parquet",
        path=str(path),
        specs=tuple(specs),
        found={name: original[column] for name, column in found.items()},
        extras={name: original[column] for name, column in extras.items()},
    )
    return reader, parts


def _open_csv(path: Path, specs: Sequence[Feature], client: Any) -> tuple[Reader, list[Any]]:
    with path.open("rb") as file:
        head = file.read(HEAD_BYTES)
    try:
        style = sniff_head(head)
    except NotCsvText as exc:
        raise InvalidDataset(f"{path} {exc.problem}") from None
    header = [name.strip() for name in next(csv.reader([style.header_line], delimiter=style.delimiter), [])]
    own = row_names(header, style.first_row)
    tail = own[-1:] == [UNNAMED_TAIL]  # records ending with the delimiter: read_rows reads that field, never keeps it
    normalised, found, extras = _found(own[:-1] if tail else own, specs)
    header_bytes = len(BOM) * style.bom + len(style.header_line.encode()) + len(style.line_end) * style.header_ends
    reader = Reader(
        kind="csv",
        path=str(path),
        specs=tuple(specs),
        found=found,
        extras=extras,
        decimal_comma=style.decimal_comma,
        names=(*normalised, *own[-1:]) if tail else tuple(normalised),
        delimiter=style.delimiter,
        header_bytes=header_bytes,
    )
    # Blocks start on a record outside quotes, as the Dask scoring engine's do: a quoted line break may straddle
    # two blocks. The first range holds the header, which Reader.block puts in front of every range.
    ranges = file_record_ranges(path, header_bytes, CSV_BLOCK_BYTES, client=client)
    parts = [(max(part.start, header_bytes), part.stop) for part in ranges]
    return reader, [(start, stop) for start, stop in parts if stop > start]
