"""What an uploaded file holds, for choosing a segmentation's features: its header, first rows and each column's
numbers, with a suggested feature name, label, unit and validation range. Suggestions only: the user confirms each."""

import csv
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from app.core.errors import InvalidDataset
from app.models.dataset import data_file, read_text_table, refuse_misread_rows
from app.models.features import header_letters
from app.models.rfm.columns import ALIASES
from app.models.segmentations.spec import RESERVED_NAMES
from app.utils.csv_head import DECIMAL_COMMA_PATTERN, whole_lines
from app.utils.csv_rows import WRONG_FIELDS

# A profile reads at most this much of a file: enough rows to see each column's values, bounded for any upload.
PROFILE_BYTES = 8 * 1024 * 1024
# A customer file has a few dozen columns; past this many it is not one.
MAX_COLUMNS = 1_000
# A column is numeric when this share of its non-empty values are finite numbers.
NUMERIC_SHARE = 0.95
MAX_NAME_CHARS = 40

# Headers that name an id, as RFM finds a transactions file's customer id and order id (normalised: "Customer ID" is
# "customerid"): a customer or an invoice number, never a measure of the customer.
_ID_HEADERS = frozenset(ALIASES["customer_id"] + ALIASES["order_id"])
# Cells people leave for "no value".
_MISSING = frozenset({"", "na", "n/a", "null", "none", "nan"})
# A unit written in brackets at the end of a header: "Annual Income (k$)", "Weight [kg]".
_BRACKETED = re.compile(r"^(?P<rest>.*?)\s*[(\[{](?P<unit>[^()\[\]{}]*)[)\]}]\s*$")
_RANGE_UNIT = re.compile(r"^\s*(-?[0-9.]+)\s*(?:-|–|to)\s*(-?[0-9.]+)\s*$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD = re.compile(r"[^A-Za-z0-9]+")
# Last words of a snake_case header that are its unit: "income_usd" is an income in $.
_UNIT_WORDS = {
    "usd": "$",
    "dollars": "$",
    "eur": "€",
    "euros": "€",
    "gbp": "£",
    "pct": "%",
    "percent": "%",
    "kusd": "k$",
    "keur": "k€",
    "days": "days",
    "weeks": "weeks",
    "months": "months",
    "years": "years",
    "kg": "kg",
    "km": "km",
}
_PERIODS = frozenset({"day", "week", "month", "quarter", "year", "visit", "order", "customer", "hour"})
_COUNT_WORDS = frozenset({"count", "cnt", "num", "number", "qty"})
_COUNT_PREFIXES = (("number", "of"), ("no", "of"), ("num",), ("n",))


def _words(header: str) -> list[str]:
    """The words of a header in any case style: "AnnualIncome", "annual_income" and "Annual income" alike."""
    return [word for word in _WORD.split(_CAMEL.sub(" ", header)) if word]


def suggest_feature(header: str) -> dict[str, str]:
    """A feature name, label and unit for a column header, as a suggestion for the user to confirm.

    Rules, in order:
    - a unit in brackets at the end is the unit, and leaves the label: "Annual Income (k$)" -> annual_income,
      "Annual Income", "k$"; a range in brackets is a scale: "Spending Score (1-100)" -> unit "1 to 100";
    - a rate's period becomes the unit: "visits_per_month" -> visits, "per month" ("Visits / month" alike);
    - a count's word is dropped when other words remain: "order_count", "num_orders", "number of visits";
    - a last word that is a unit becomes it: "income_usd" -> income, "$"; "tenure_years" -> tenure, "years";
    - the name is the remaining words in snake_case (camelCase split), at most 40 characters, starting with a
      letter ("2024 spend" -> f_2024_spend); the label is the header as written when it has spaces, else the words
      capitalised.
    """
    text = header.strip().lstrip("\ufeff").strip()
    unit = ""
    bracketed = _BRACKETED.match(text)
    if bracketed and bracketed["rest"].strip():
        text, unit = bracketed["rest"].strip(), bracketed["unit"].strip()
        scale = _RANGE_UNIT.match(unit)
        if scale:
            unit = f"{scale[1]} to {scale[2]}"
    text, rate = _split_rate(text)
    unit = unit or rate
    words = _words(text)
    lower = [word.lower() for word in words]
    if len(lower) > 1 and lower[-1] in _UNIT_WORDS and not unit:
        unit = _UNIT_WORDS[lower[-1]]
        words, lower = words[:-1], lower[:-1]
    if len(lower) > 1 and lower[-1] in _COUNT_WORDS:
        words, lower = words[:-1], lower[:-1]
    for prefix in _COUNT_PREFIXES:
        if len(lower) > len(prefix) and tuple(lower[: len(prefix)]) == prefix:
            words, lower = words[len(prefix) :], lower[len(prefix) :]
            break
    name = "_".join(lower) or "feature"
    if not name[0].isalpha():
        name = f"f_{name}"
    name = name[:MAX_NAME_CHARS].rstrip("_")
    spaced = " " in text.strip() and any(char.isupper() for char in text)
    if spaced and lower == [word.lower() for word in _words(text)]:
        label = text.strip()
    else:
        joined = " ".join(words)
        label = joined[:1].upper() + joined[1:]
    return {"name": name, "label": label or name, "unit": unit}


def _split_rate(text: str) -> tuple[str, str]:
    """A header without its rate ("visits_per_month" -> "visits") and the rate as a unit ("per month")."""
    words = _words(text)
    lower = [word.lower() for word in words]
    if len(lower) > 2 and lower[-2] == "per":
        return " ".join(words[:-2]), f"per {lower[-1]}"
    slash = re.match(r"^(?P<rest>.+?)\s*/\s*(?P<period>[A-Za-z]+)\s*$", text)
    if slash and slash["period"].lower() in _PERIODS:
        return slash["rest"], f"per {slash['period'].lower()}"
    return text, ""


def suggest_features(headers: list[str]) -> list[dict[str, str]]:
    """`suggest_feature` for every header, with names made unique in order (income, income_2, ...) and never one a
    scored file already has (CustomerID -> customer_id_2), so that every suggestion is a name the API takes."""
    used: set[str] = set(RESERVED_NAMES)
    suggestions = []
    for header in headers:
        suggestion = suggest_feature(header)
        name, number = suggestion["name"], 1
        while name in used:
            number += 1
            suffix = f"_{number}"
            name = suggestion["name"][: MAX_NAME_CHARS - len(suffix)] + suffix
        used.add(name)
        suggestions.append({**suggestion, "name": name})
    return suggestions


def suggested_range(low: float) -> dict[str, float | None]:
    """A validation range to start from: 0 up for data that is never negative, else no bound; never the data's own
    range, which would refuse every later customer a little outside it (the training range only flags those)."""
    return {"min": 0.0 if low >= 0 else None, "max": None}


def _read_head(source: str | Path | bytes, max_bytes: int) -> tuple[bytes, bool]:
    """The first `max_bytes` of a file cut at its last whole record, and whether anything was left out."""
    if isinstance(source, bytes):
        data = source[: max_bytes + 1]
    else:
        path = data_file(source)
        with path.open("rb") as file:
            data = file.read(max_bytes + 1)
    if len(data) <= max_bytes:
        return data, False
    cut = whole_lines(data[:max_bytes])
    if not cut:
        raise InvalidDataset(f"the file's first line is longer than {_size(max_bytes)}")
    return cut, True


def _size(count: int) -> str:
    return f"{count / (1024 * 1024):g} MiB" if count >= 1024 * 1024 else f"{count:,} bytes"


def _looks_like_id(header: str, name: str, values: np.ndarray, complete: bool) -> bool:
    """Whole numbers under a customer or order id's header (CustomerID, InvoiceNo), even repeated or with gaps as on
    a transactions file's lines; else distinct whole numbers in order (1, 2, 3...), or in a column named like an id."""
    if len(values) < 2 or not np.all(values == np.round(values)):
        return False
    if header_letters(header) in _ID_HEADERS:
        return True
    if not complete or len(np.unique(values)) != len(values):
        return False
    steps = np.diff(values)
    return bool(np.all(steps > 0) or np.all(steps < 0) or name == "id" or name.endswith("_id"))


def _column_profile(header: str, suggestion: dict[str, str], raw: pd.Series, decimal_comma: bool) -> dict[str, Any]:
    """One column: numeric or not, its numbers' spread, missing cells, and what to call it."""
    text = raw.str.strip()
    if decimal_comma:
        text = text.str.replace(DECIMAL_COMMA_PATTERN, r"\1.\2", regex=True)
    missing = text.str.lower().isin(_MISSING).to_numpy()
    numbers = pd.to_numeric(text.where(~missing), errors="coerce").to_numpy(dtype=np.float64)
    finite = np.isfinite(numbers)
    given = int((~missing).sum())
    share = float(finite.sum() / given) if given else 0.0
    numeric = given > 0 and share >= NUMERIC_SHARE
    values = numbers[finite]
    profile: dict[str, Any] = {
        "column": header,
        **suggestion,
        "numeric": numeric,
        "numeric_share": round(share, 4),
        "missing": int(missing.sum()),
        "min": None,
        "max": None,
        "mean": None,
        "range": None,
        "id_like": False,
    }
    if numeric:
        low, high = float(values.min()), float(values.max())
        profile.update(
            min=low,
            max=high,
            mean=float(f"{values.mean():.6g}"),
            range=suggested_range(low),
            id_like=_looks_like_id(header, suggestion["name"], values, complete=len(values) == len(numbers)),
        )
    return profile


def profile_file(
    source: str | Path | bytes, *, max_preview_rows: int = 10, max_bytes: int = PROFILE_BYTES, name: str = "the file"
) -> dict[str, Any]:
    """The header, first rows and per-column profile of a CSV file (a path or its bytes), from its first
    `max_bytes` at most (`sampled` says whether the file went on); InvalidDataset for a file that is not a table."""
    data, sampled = _read_head(source, max_bytes)
    # Rows are shown as written; numbers are read with the file's decimal mark.
    table = read_text_table(data, name=name, decimal_commas=False)
    frame, style, malformed = table.frame, table.style, table.malformed
    header = list(map(str, frame.columns))
    if len(header) > MAX_COLUMNS:
        raise InvalidDataset(f"{name} has {len(header):,} columns; a customer file may have at most {MAX_COLUMNS:,}")
    if not header or all(not column for column in header):
        raise InvalidDataset(f"{name} has no header row; the first line must name the columns")
    written = [column.strip() for column in next(csv.reader([style.header_line], delimiter=style.delimiter), [])]
    duplicated = sorted(column for column, count in Counter(written).items() if count > 1)
    if duplicated:  # read, they would be renamed ("a", "a.1"): a silent guess at which is which
        raise InvalidDataset(f"{name} has duplicated column names: {', '.join(duplicated)}")
    # As training reads the file: rows that do not fit the header are skipped and counted, unless most do not.
    refuse_misread_rows(malformed, n_records=table.n_records, header_fields=len(header))
    if frame.empty and sampled:
        raise InvalidDataset(f"{name}'s first row is longer than {_size(max_bytes)}")
    if frame.empty:
        raise InvalidDataset(f"{name} has a header but no data rows")
    suggestions = suggest_features(header)
    return {
        "delimiter": style.delimiter,
        "decimal_comma": style.decimal_comma,
        "bom": style.bom,
        "line_end": style.line_end,
        "header": header,
        "rows": frame.head(max_preview_rows).to_numpy().tolist(),
        "rows_read": len(frame),
        "skipped_rows": {WRONG_FIELDS: malformed.count} if malformed.count else {},
        "first_skipped_line": malformed.line if malformed.count else None,
        "sampled": sampled,
        "columns": [
            _column_profile(column, suggestion, frame[column], style.decimal_comma)
            for column, suggestion in zip(header, suggestions, strict=True)
        ],
    }
