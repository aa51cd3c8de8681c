"""Load and clean a customer table, reporting every row it drops and why.

Files are read as scoring reads them (app.utils.csv_head): ',' or ';' sniffed from the header, a BOM, any line
end, quoted values holding line breaks, and decimal commas ("1,5") in ';' files.
"""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from app.core.errors import InvalidDataset
from app.models.features import COLUMNS, FEATURES, Feature, find_column, normalise_column, wanted_columns
from app.models.units import scale_hint
from app.utils.csv_head import DECIMAL_COMMA_PATTERN, HEAD_BYTES, HeadStyle, NotCsvText, sniff_head

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


def read_text_table(
    source: str | Path | bytes, *, name: str | None = None, decimal_commas: bool = True
) -> tuple[pd.DataFrame, HeadStyle]:
    """Every cell of a CSV file (a path, or its bytes) as text under the file's own header, and how it is written.

    With `decimal_commas`, those of a ';' file are read as points here, once, so every later step sees "1.5".
    """
    if isinstance(source, bytes):
        label, head = name or "the file", source[:HEAD_BYTES]
    else:
        path = Path(source)
        label = name or str(path)
        if not path.is_file():
            raise InvalidDataset(f"data file not found: {path}")
        with path.open("rb") as file:
            head = file.read(HEAD_BYTES)
    try:
        style = sniff_head(head)
    except NotCsvText as exc:
        raise InvalidDataset(f"{label} {exc.problem}") from None
    try:
        frame = pd.read_csv(
            io.BytesIO(source) if isinstance(source, bytes) else source,
            sep=style.delimiter,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
            encoding="utf-8-sig",
        )
    except pd.errors.EmptyDataError:
        raise InvalidDataset(f"{label} is empty") from None
    except (pd.errors.ParserError, csv.Error, UnicodeDecodeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidDataset(f"{label} is not a valid CSV file: {first_line}") from None
    frame.columns = [str(column).strip().lstrip("\ufeff").strip() for column in frame.columns]
    if decimal_commas and style.decimal_comma and len(frame):
        frame = frame.apply(lambda column: column.str.replace(_PADDED_DECIMAL_COMMA, r"\1.\2", regex=True))
    return frame, style


def load_customers(path: str | Path) -> pd.DataFrame:
    """Read a customer CSV with the public header or snake_case columns."""
    frame, _ = read_text_table(path)
    frame.columns = [normalise_column(column) for column in frame.columns]
    if frame.columns.duplicated().any():
        duplicated = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise InvalidDataset(f"{path} has duplicated columns: {', '.join(duplicated)}")
    return frame


def _as_features(features: Sequence[str] | Sequence[Feature]) -> list[Feature]:
    """Features by name (the built-in ones; any other name is an unbounded number) or as given."""
    return [
        feature if isinstance(feature, Feature) else FEATURES.get(feature) or Feature(feature, feature, feature, "")
        for feature in features
    ]


def clean_customers(
    frame: pd.DataFrame, *, features: Sequence[str] | Sequence[Feature], min_rows: int
) -> CleanedDataset:
    """Drop unusable rows with a count per reason, or raise when too few remain.

    `features` are names of built-in features, or Feature objects read from their source column (else their
    name) and checked against their own range. The cleaned frame names each feature by its name.
    """
    specs = _as_features(features)
    found = {spec.name: find_column(list(map(str, frame.columns)), spec) for spec in specs}
    missing = [spec for spec in specs if found[spec.name] is None]
    if missing:
        raise InvalidDataset(
            f"missing required column(s): {wanted_columns(missing)}; found: {', '.join(map(str, frame.columns))}"
        )
    n_input = len(frame)
    if n_input == 0:
        raise InvalidDataset("the file has a header but no data rows")

    frame = frame.reset_index(drop=True)
    keep = np.ones(n_input, dtype=bool)
    dropped: dict[str, int] = {}

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
        numeric[name] = values

    if "customer_id" in frame.columns:
        ids = frame["customer_id"].astype(str).str.strip()
        drop("missing customer_id", ids.eq("").to_numpy())
        # Only rows still kept compete for an id, so a bad row cannot shadow a good one.
        duplicate = ids.where(keep).duplicated(keep="first") & ids.where(keep).notna()
        drop("duplicate customer_id", duplicate.to_numpy())
        customer_ids = ids
    else:
        customer_ids = pd.Series(np.arange(1, n_input + 1).astype(str))

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
        reasons = "; ".join(f"{count} {reason}" for reason, count in dropped.items()) or "none dropped"
        hint = _scale_hint(specs, out_of_range, n_input) if clean.empty else None
        raise InvalidDataset(
            f"only {len(clean)} usable row(s) of {n_input}, at least {min_rows} are needed (dropped: {reasons})"
            + (f": {hint}" if hint else "")
        )
    return CleanedDataset(frame=clean, n_input_rows=n_input, dropped=dropped)


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
    """Write the cleaned table with snake_case columns, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(path)
    return path
