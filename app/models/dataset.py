"""Load and clean a customer table, reporting every row it drops and why."""

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from app.core.errors import InvalidDataset
from app.models.features import COLUMNS, FEATURES, Feature, normalise_column, wanted_columns
from app.utils.csv_head import HEAD_BYTES, NotCsvText, decode_head


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


def load_customers(path: str | Path) -> pd.DataFrame:
    """Read a customer CSV with the public header or snake_case columns."""
    path = Path(path)
    if not path.is_file():
        raise InvalidDataset(f"data file not found: {path}")
    with path.open("rb") as file:
        head = file.read(HEAD_BYTES)
    try:
        decode_head(head)
    except NotCsvText as exc:
        raise InvalidDataset(f"{path} {exc.problem}") from None
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise InvalidDataset(f"{path} is empty") from None
    except (pd.errors.ParserError, csv.Error, UnicodeDecodeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidDataset(f"{path} is not a valid CSV file: {first_line}") from None
    frame.columns = [normalise_column(str(column)) for column in frame.columns]
    if frame.columns.duplicated().any():
        duplicated = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise InvalidDataset(f"{path} has duplicated columns: {', '.join(duplicated)}")
    return frame


def clean_customers(frame: pd.DataFrame, *, features: "list[str] | list[Feature]", min_rows: int) -> CleanedDataset:
    """Drop unusable rows with a count per reason, or raise when too few remain."""
    specs = [FEATURES[f] if isinstance(f, str) else f for f in features]
    frame = frame.rename(columns={normalise_column(f.source_column): f.name for f in specs if f.name not in FEATURES})
    features = [f.name for f in specs]
    missing = [spec for spec in specs if spec.name not in frame.columns]
    if missing:
        wanted = ", ".join(
            wanted_columns([spec.name]) if spec.name in FEATURES else f"'{spec.source_column}'" for spec in missing
        )
        raise InvalidDataset(f"missing required column(s): {wanted}; found: {', '.join(map(str, frame.columns))}")
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
    for name in features:
        raw = frame[name].astype(str).str.strip()
        values = pd.to_numeric(raw, errors="coerce")
        empty = raw.eq("") | raw.str.lower().isin({"na", "n/a", "null", "none"})
        nan_text = raw.str.lower().isin({"nan", "-nan", "+nan"})
        drop(f"missing {name}", empty.to_numpy())
        drop(f"non-numeric {name}", (values.isna() & ~empty & ~nan_text).to_numpy())
        drop(f"NaN or infinite {name}", (nan_text | np.isinf(values.fillna(0))).to_numpy())
        feature = specs[features.index(name)]
        too_low = values < feature.minimum
        too_high = values > feature.maximum
        drop(f"{name} out of range ({feature.range_text()})", (too_low | too_high).to_numpy())
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
    for name in dict.fromkeys([*COLUMNS, *features]):
        if name in numeric:
            columns[name] = numeric[name]
        elif name in frame.columns and name != "customer_id":
            columns[name] = frame[name]
    clean = pd.DataFrame(columns)[keep].reset_index(drop=True)
    for name in features:
        clean[name] = clean[name].astype(float)

    if len(clean) < min_rows:
        reasons = "; ".join(f"{count} {reason}" for reason, count in dropped.items()) or "none dropped"
        raise InvalidDataset(
            f"only {len(clean)} usable row(s) of {n_input}, at least {min_rows} are needed (dropped: {reasons})"
        )
    return CleanedDataset(frame=clean, n_input_rows=n_input, dropped=dropped)


def write_processed(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write the cleaned table with snake_case columns, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(path)
    return path
