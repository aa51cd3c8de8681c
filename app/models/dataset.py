"""Load and clean a customer table, reporting every row it drops and why.

Files are read as scoring reads them (app.utils.csv_head, app.utils.csv_rows): ',' or ';' sniffed from the header, a
BOM, any line end, quoted values holding line breaks, decimal commas ("1,5") in ';' files, a header or records ending
with the delimiter as spreadsheets save them (csv_head.row_names), and a record without the header's number of fields
left out of the columns (never shifted) and counted.
"""

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from app.core.errors import InvalidDataset
from app.models.features import (
    COLUMNS,
    FEATURES,
    Feature,
    columns_read_alike,
    find_column,
    normalise_columns,
    too_large,
    too_large_reason,
    wanted_columns,
)
from app.models.units import scale_hint
from app.utils.csv_head import DECIMAL_COMMA_PATTERN, HEAD_BYTES, HeadStyle, NotCsvText, row_names, sniff_head
from app.utils.csv_rows import WRONG_FIELDS, Malformed, UnreadableRows, read_rows
from app.utils.files import atomic_replace

# Cells people leave for "no value".
_MISSING = frozenset({"na", "n/a", "null", "none"})
_NAN = frozenset({"nan", "-nan", "+nan"})
_PADDED_DECIMAL_COMMA = DECIMAL_COMMA_PATTERN.replace("^", r"^\s*").replace("$", r"\s*$")


@dataclass
class CleanedDataset:
    """Rows fit for training, plus how many were dropped for each reason."""

    frame: pd.DataFrame
    n_input_rows: int
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def n_dropped(self) -> int:
        """Total number of rows dropped."""
        return sum(self.dropped.values())


@dataclass(frozen=True)
class TextTable:
    """A CSV file's rows as text under its own header, how the file is written, and the records without the
    header's number of fields (not in the frame: their values cannot be placed in columns)."""

    frame: pd.DataFrame
    style: HeadStyle
    malformed: Malformed = field(default_factory=Malformed)

    @property
    def n_records(self) -> int:
        """Every record below the header, well-formed or not."""
        return len(self.frame) + self.malformed.count


def data_file(source: str | Path) -> Path:
    """The path of a data file to read; InvalidDataset when there is none there (a folder is not one)."""
    path = Path(source)
    if path.is_dir():
        raise InvalidDataset(f"{path} is a folder: give the data file in it")
    if not path.is_file():
        raise InvalidDataset(f"data file not found: {path}")
    return path


def read_text_table(source: str | Path | bytes, *, name: str | None = None, decimal_commas: bool = True) -> TextTable:
    """Every cell of a CSV file (a path, or its bytes) as text under the file's own header, and how it is written.

    With `decimal_commas`, those of a ';' file are read as points here, once, so every later step sees "1.5".
    """
    if isinstance(source, bytes):
        label, head = name or "the file", source[:HEAD_BYTES]
    else:
        path = data_file(source)
        label = name or str(path)
        with path.open("rb") as file:
            head = file.read(HEAD_BYTES)
    try:
        style = sniff_head(head)
    except NotCsvText as exc:
        raise InvalidDataset(f"{label} {exc.problem}") from None
    if not style.complete:
        raise InvalidDataset(
            f"{label}'s header line is longer than {HEAD_BYTES // 1024} KiB; a customer file's header names its "
            "columns in far less"
        )
    header = [column.strip() for column in next(csv.reader([style.header_line], delimiter=style.delimiter), [])]
    names = row_names(header, style.first_row)
    if not names:
        return TextTable(pd.DataFrame(), style)
    try:
        rows = read_rows(source, names=names, delimiter=style.delimiter, header_ends=style.header_ends, label=label)
    except UnreadableRows as exc:
        raise InvalidDataset(exc.problem) from None
    frame = rows.table.to_pandas()
    if decimal_commas and style.decimal_comma and len(frame):
        frame = frame.apply(lambda column: column.str.replace(_PADDED_DECIMAL_COMMA, r"\1.\2", regex=True))
    return TextTable(frame, style, rows.malformed)


def refuse_misread_rows(malformed: Malformed, *, n_records: int, header_fields: int) -> None:
    """InvalidDataset when most records do not have the header's number of fields.

    The header then does not describe the rows (a column it does not name, a delimiter inside unquoted values), so
    no column of the few rows that fit can be trusted either: read by position they would be a guess.
    """
    if malformed.count * 2 > n_records:
        raise InvalidDataset(
            f"{malformed.count:,} of the {n_records:,} rows do not have the header's number of fields: line "
            f"{malformed.line} has {malformed.fields} fields where the header has {header_fields}; check that the "
            "header names every column and that values holding the delimiter are in double quotes"
        )


def load_customers(path: str | Path) -> TextTable:
    """Read a customer CSV with the public header or snake_case columns."""
    table = read_text_table(path)
    frame = table.frame
    names = [str(column) for column in frame.columns]
    problem = columns_read_alike(names)
    if problem:
        raise InvalidDataset(problem)
    frame.columns = normalise_columns(names)
    return table


def _as_features(features: Sequence[str] | Sequence[Feature]) -> list[Feature]:
    """Features by name (the built-in ones; any other name is an unbounded number) or as given."""
    return [
        feature if isinstance(feature, Feature) else FEATURES.get(feature) or Feature(feature, feature, feature, "")
        for feature in features
    ]


def clean_customers(
    table: TextTable | pd.DataFrame, *, features: Sequence[str] | Sequence[Feature], min_rows: int
) -> CleanedDataset:
    """Drop unusable rows with a count per reason, or raise when too few remain.

    `table`: a file's (its malformed records are dropped first, as "wrong number of fields"), or a frame already in
    memory. `features` are names of built-in features, or Feature objects read from their source column (else their
    name) and checked against their own range. The cleaned frame names each feature by its name.
    """
    frame, malformed = (table.frame, table.malformed) if isinstance(table, TextTable) else (table, Malformed())
    specs = _as_features(features)
    found = {spec.name: find_column(list(map(str, frame.columns)), spec) for spec in specs}
    missing = [spec for spec in specs if found[spec.name] is None]
    if missing:
        raise InvalidDataset(
            f"missing required column(s): {wanted_columns(missing)}; found: {', '.join(map(str, frame.columns))}"
        )
    n_rows = len(frame)
    n_input = n_rows + malformed.count
    if n_input == 0:
        raise InvalidDataset("the file has a header but no data rows")
    refuse_misread_rows(malformed, n_records=n_input, header_fields=len(frame.columns))

    frame = frame.reset_index(drop=True)
    keep = np.ones(n_rows, dtype=bool)
    dropped: dict[str, int] = {WRONG_FIELDS: malformed.count} if malformed.count else {}

    def drop(reason: str, mask: np.ndarray) -> None:
        newly = mask & keep
        if newly.any():
            dropped[reason] = dropped.get(reason, 0) + int(newly.sum())
            keep[newly] = False

    numeric: dict[str, pd.Series] = {}
    out_of_range: dict[str, np.ndarray] = {}
    for spec in specs:
        name = spec.name
        raw = frame[found[name]].astype(str).str.strip()
        values = pd.to_numeric(raw, errors="coerce")
        empty = raw.eq("") | raw.str.lower().isin(_MISSING)
        nan_text = raw.str.lower().isin(_NAN)
        drop(f"missing {name}", empty.to_numpy())
        drop(f"non-numeric {name}", (values.isna() & ~empty & ~nan_text).to_numpy())
        drop(f"NaN or infinite {name}", (nan_text | np.isinf(values.fillna(0))).to_numpy())
        outside = ((values < spec.minimum) | (values > spec.maximum)).to_numpy()
        out_of_range[name] = values.to_numpy(dtype=np.float64)[outside]
        drop(f"{name} out of range ({spec.range_text()})", outside)
        drop(too_large_reason(name), too_large(values.to_numpy(dtype=np.float64)))
        numeric[name] = values

    if "customer_id" in frame.columns:
        ids = frame["customer_id"].astype(str).str.strip()
        drop("missing customer_id", ids.eq("").to_numpy())
        # Only rows still kept compete for an id, so a bad row cannot shadow a good one.
        duplicate = ids.where(keep).duplicated(keep="first") & ids.where(keep).notna()
        drop("duplicate customer_id", duplicate.to_numpy())
        customer_ids = ids
    else:
        customer_ids = pd.Series(np.arange(1, n_rows + 1).astype(str))

    columns: dict[str, pd.Series] = {"customer_id": customer_ids}
    for name in COLUMNS:
        if name in numeric:
            columns[name] = numeric[name]
        elif name in frame.columns and name != "customer_id":
            columns[name] = frame[name]
    columns.update((name, values) for name, values in numeric.items() if name not in columns)
    clean = pd.DataFrame(columns)[keep].reset_index(drop=True)
    for spec in specs:
        clean[spec.name] = clean[spec.name].astype(float)

    if len(clean) < min_rows:
        hint = _scale_hint(specs, out_of_range, n_input) if clean.empty else None
        raise too_few_rows(len(clean), n_input=n_input, min_rows=min_rows, dropped=dropped, hint=hint)
    return CleanedDataset(frame=clean, n_input_rows=n_input, dropped=dropped)


def too_few_rows(
    kept: int, *, n_input: int, min_rows: int, dropped: dict[str, int], hint: str | None = None
) -> InvalidDataset:
    """The refusal of a dataset with fewer usable rows than training needs, saying why rows were dropped, if any."""
    reasons = "; ".join(f"{count} {reason}" for reason, count in dropped.items())
    return InvalidDataset(
        f"only {kept} usable row(s) of {n_input}, at least {min_rows} are needed"
        + (f" (dropped: {reasons})" if reasons else "")
        + (f": {hint}" if hint else "")
    )


def _scale_hint(specs: list[Feature], out_of_range: dict[str, np.ndarray], n_input: int) -> str | None:
    """When most rows fall outside a feature's range by a unit's factor: what to do, as a sentence."""
    for spec in specs:
        values = out_of_range[spec.name]
        if len(values) * 2 > n_input:
            hint = scale_hint(spec, values)
            if hint is not None:
                return hint.message
    return None


def write_processed(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write the cleaned table with snake_case columns, atomically: a write that fails (a full disk) leaves neither
    the file nor its temporary copy, which would keep the disk full."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_replace(path) as sink:
        frame.to_csv(sink, index=False)
    return path
