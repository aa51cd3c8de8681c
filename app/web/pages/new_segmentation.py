"""Creating a segmentation on /models: the uploaded file's header, first rows and numeric columns to choose from,
and the chosen columns as the create request the segmentations service takes; or, for a transactions file, RFM."""

import math
from collections.abc import Mapping
from typing import Any

from app.core.errors import InvalidDataset, InvalidRequest, SegmentationError
from app.models.rfm.columns import ROLE_TEXT, detect_columns
from app.models.segmentations.spec import MAX_FEATURES, MAX_LABEL, MIN_FEATURES, InvalidFeature
from app.web.pages.column_names import column_labels

# A file may have hundreds of columns; the form offers the first numeric ones (each is seven form fields).
MAX_OFFERED = 40
# The preview shows the file's first columns only: a 1,000-column file drew a table 266,856 px wide.
MAX_PREVIEW_COLUMNS = 20
# The "not numeric" sentence names this many columns, then counts the rest.
MAX_LISTED = 20
FIELDS_PER_COLUMN = 7
TRANSFORMS = ("none", "log1p")
# The feature fields of the form, by index: use_3, column_3, name_3, ...
_FEATURE_FIELDS = ("column", "name", "label", "unit", "min", "max", "transform")


def _number_text(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def offered_columns(profile: dict[str, Any]) -> list[dict[str, Any]]:
    """The numeric columns the form offers, each with its suggested feature; id-like columns and columns that never
    change start unticked."""
    labels = column_labels(profile["header"])
    offered = []
    ticked = 0
    for column in profile["columns"]:
        if not column["numeric"] or len(offered) == MAX_OFFERED:
            continue
        # One value for every customer separates no one: trained on, it only dilutes the distances.
        constant = column["min"] == column["max"]
        use = not column["id_like"] and not constant and ticked < MAX_FEATURES
        ticked += use
        suggested = column["range"] or {}
        offered.append(
            {
                "index": len(offered),
                "column": column["column"],
                "heading": labels[column["column"]],
                "use": use,
                "id_like": column["id_like"],
                "constant": constant,
                "name": column["name"],
                "label": column["label"],
                "unit": column["unit"],
                "min": _number_text(suggested.get("min")),
                "max": _number_text(suggested.get("max")),
                "transform": "none",
                "data_min": column["min"],
                "data_max": column["max"],
                "mean": column["mean"],
            }
        )
    return offered


def sent_columns(fields: Mapping[str, str], offered: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The offered columns as the user left them: ticks and edited values over the suggestions."""
    columns = []
    for column in offered:
        index = column["index"]
        edited = {key: fields.get(f"{key}_{index}", column[key]).strip() for key in _FEATURE_FIELDS if key != "column"}
        columns.append({**column, **edited, "use": f"use_{index}" in fields})
    return columns


def _named(column: dict[str, Any]) -> str:
    """How the form names one of its columns in a message: by the file's header, as its row shows it."""
    return f"column {column['column']!r}"


def _bound(text: str, *, label: str, which: str, decimal_comma: bool = False) -> float | None:
    if not text:
        return None
    if decimal_comma and text.count(",") == 1 and "." not in text:
        # The file writes 36,12 (the page says "decimal commas"), and a phone's decimal keypad in such a locale
        # offers only a comma: "20,5" is 20.5 there. In a file with decimal points "1,000" stays refused, never 1.0.
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidRequest(f"{label}: the {which} must be a number (or empty for no bound), not {text[:40]!r}")
    return value


def create_body(*, name: str, columns: list[dict[str, Any]], decimal_comma: bool = False) -> dict[str, Any]:
    """The create request for the ticked columns (InvalidRequest for too few or too many, or a bad bound); with
    `decimal_comma` (the file's numbers are written so) a bound may be typed with a decimal comma."""
    chosen = [column for column in columns if column["use"]]
    if not MIN_FEATURES <= len(chosen) <= MAX_FEATURES:
        raise InvalidRequest(
            f"choose {MIN_FEATURES} to {MAX_FEATURES} numeric columns to segment by; {len(chosen)} chosen"
        )
    features = []
    for column in chosen:
        label = _named(column)
        if column["transform"] not in TRANSFORMS:
            raise InvalidRequest(f"{label}: the transform must be one of {', '.join(TRANSFORMS)}")
        features.append(
            {
                "name": column["name"],
                "column": column["column"],
                "label": column["label"] or None,
                "unit": column["unit"] or None,
                "transform": column["transform"],
                "min": _bound(column["min"], label=label, which="minimum", decimal_comma=decimal_comma),
                "max": _bound(column["max"], label=label, which="maximum", decimal_comma=decimal_comma),
            }
        )
    return {"name": name.strip(), "kind": "columns", "features": features}


def transaction_columns(header: list[str]) -> list[dict[str, str]] | None:
    """The columns a transactions file's header names for RFM (customer id, date, amount...), or None for a file
    that is not one: the page then offers only the columns form."""
    try:
        found = detect_columns(header)
    except InvalidDataset:
        return None
    return [{"role": ROLE_TEXT[role], "column": column} for role, column in found.to_dict().items()]


def form_error(error: SegmentationError, columns: list[dict[str, Any]]) -> str:
    """What the form says of a refused create: a feature's problem named by its column, in the form's words (the API
    names it features[i]); anything else as it is."""
    chosen = [column for column in columns if column["use"]]
    if isinstance(error, InvalidFeature) and error.index < len(chosen):
        return f"{_named(chosen[error.index])}: {error.problem}"
    return error.message


def _preview(profile: dict[str, Any]) -> dict[str, Any]:
    """The preview's first columns, headed as the page names them, and what it leaves out in words."""
    header = profile["header"]
    labels = column_labels(header)
    shown = min(len(header), MAX_PREVIEW_COLUMNS)
    return {
        "header": [labels[name] for name in header[:shown]],
        "rows": [row[:shown] for row in profile["rows"]],
        "note": f"Showing {shown} of {len(header):,} columns, the first in the file." if shown < len(header) else None,
    }


def _not_numeric(profile: dict[str, Any]) -> tuple[list[str], int, list[str]]:
    """The first columns that are not numeric, as the page names them, how many more there are, and the first empty
    ones: a column with no value in the rows read is empty, which "not numeric" would misname."""
    labels = column_labels(profile["header"])
    unused = [column for column in profile["columns"] if not column["numeric"]]
    empty = [labels[column["column"]] for column in unused if column["missing"] >= profile["rows_read"]]
    names = [labels[column["column"]] for column in unused if column["missing"] < profile["rows_read"]]
    return names[:MAX_LISTED], max(len(names) - MAX_LISTED, 0), empty[:MAX_LISTED]


def _chooser_texts(profile: dict[str, Any], offered: list[dict[str, Any]]) -> dict[str, str | None]:
    """What the columns form says of the numeric columns it leaves out, or, in `refused`, why it is not shown: with
    fewer than MIN_FEATURES columns to offer, no tick could make a segmentation."""
    numeric = sum(column["numeric"] for column in profile["columns"])
    capped = None
    if numeric > len(offered):
        capped = (
            f"Showing {len(offered)} of {numeric:,} numeric columns: the form offers only the first {len(offered)}. "
            "To segment by others, upload a file with just the columns you need, or create the segmentation with "
            "POST /api/v1/segmentations, which takes any column."
        )
    refused = None
    if len(offered) < MIN_FEATURES:
        count = "only 1 numeric column" if offered else "no numeric column"
        refused = f"this file has {count}; a columns segmentation needs {MIN_FEATURES} to {MAX_FEATURES}"
    return {"capped": capped, "refused": refused}


def new_segmentation_page(
    profile: dict[str, Any],
    *,
    upload_token: str,
    upload_name: str,
    form_token: str,
    columns: list[dict[str, Any]] | None = None,
    name: str = "",
    k: str = "auto",
    error: str | None = None,
    kind: str = "columns",
) -> dict[str, Any]:
    """Context for the second step: the file's first rows, its numeric columns to choose, a name and k; and the
    RFM form when the file is transactions (`kind`: the form a refused create came from)."""
    columns = columns if columns is not None else offered_columns(profile)
    not_numeric, more_not_numeric, empty = _not_numeric(profile)
    return {
        "transactions": transaction_columns(profile["header"]),
        "kind": kind,
        "active": "models",
        "profile": profile,
        "preview": _preview(profile),
        # Every row read, the ones left out among them: "630 rows read; 121 left out", never 509 read and 121 more.
        "rows_read": profile["rows_read"] + sum(profile["skipped_rows"].values()),
        "columns": columns,
        "chooser": _chooser_texts(profile, columns),
        "not_numeric": not_numeric,
        "more_not_numeric": more_not_numeric,
        "empty_columns": empty,
        "upload_token": upload_token,
        "upload_name": upload_name,
        "form_token": form_token,
        "name": name,
        "k": k,
        "error": error,
        "min_features": MIN_FEATURES,
        "max_features": MAX_FEATURES,
        "max_label": MAX_LABEL,
    }
