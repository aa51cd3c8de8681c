"""The customer columns a model is trained on: names, labels, units, valid ranges and transforms."""

import math
import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from app.core.errors import InvalidDataset
from app.utils.text import safe_text

# How a feature's values are turned into what the model clusters: as they are, or log(1 + x) for skewed money and
# count columns (a few big spenders would otherwise stretch every other customer into one segment).
TRANSFORMS = ("none", "log1p")
# The largest size a feature's value may have, whatever its range: beyond it a value is a typo or an overflow, never a
# customer's, and the model cannot use it (a decision tree fits float32, whose largest value is about 3.4e38, and one
# 1e30 among real values leaves every other customer the same standardised value). 1e15 is below 2**53 (~9e15), so
# every whole amount up to it is exact in float64, and its square (1e30) keeps variances and distances finite.
MAX_MAGNITUDE = 1e15
FEATURE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# A unit that is a scale's range ("1 to 100", "0-10"): said once beside the feature's name, never after each number
# ("51 1 to 100" reads as two numbers).
_SCALE = re.compile(r"^\s*[-+]?\d+(?:[.,]\d+)?\s*(?:to|-|–|—|\.\.)\s*[-+]?\d+(?:[.,]\d+)?\s*$", re.IGNORECASE)


def _after_numbers(unit: str) -> str:
    """What follows a value of a feature of this unit: the unit, or nothing for a scale's range."""
    return "" if _SCALE.fullmatch(unit) else unit


# Messages quote a header's names cut to this many characters.
NAME_CHARS = 60


@dataclass(frozen=True)
class Feature:
    """A numeric customer column that a model can be trained on."""

    name: str
    label: str
    noun: str
    unit: str
    # The values accepted anywhere: by the API, the pages and training. The one source of these bounds;
    # infinite means no bound beyond what the transform needs.
    minimum: float = -math.inf
    maximum: float = math.inf
    # For sentences about training ranges: "the incomes this model was trained on (15–137 k$)".
    plural: str = ""
    short_unit: str = ""
    # The column a file holds it in ("" for the label, then the name) and how the model sees its values.
    column: str = ""
    transform: str = "none"

    def range_text(self) -> str:
        """Describe the valid range for error messages."""
        low, high = math.isfinite(self.minimum), math.isfinite(self.maximum)
        if low and high:
            return f"between {self.minimum:,g} and {self.maximum:,g}"
        if low:
            return f"at least {self.minimum:,g}"
        if high:
            return f"at most {self.maximum:,g}"
        return "any finite number"

    @property
    def source_column(self) -> str:
        """The header a file names this feature by."""
        return self.column or self.label or self.name

    def to_dict(self) -> dict[str, Any]:
        """The public shape of a feature item: name, column, label, unit, transform, min and max (null: unbounded)."""
        return {
            "name": self.name,
            "column": self.source_column,
            "label": self.label,
            "unit": self.unit,
            "transform": self.transform,
            "min": self.minimum if math.isfinite(self.minimum) else None,
            "max": self.maximum if math.isfinite(self.maximum) else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Feature":
        """Rebuild a feature item (as `to_dict` writes it); a known default feature keeps its sentences."""
        known = FEATURES.get(data["name"])
        label = data.get("label") or (known.label if known else data["name"].replace("_", " ").capitalize())
        low, high = data.get("min"), data.get("max")
        if data.get("transform", "none") == "log1p" and (low is None or low < 0):
            low = 0.0  # log(1 + x) needs x > -1; money and counts are never negative once cleaned
        base = known if known and known.label == label else None
        return cls(
            name=data["name"],
            label=label,
            noun=base.noun if base else label,
            unit=data.get("unit") or "",
            minimum=-math.inf if low is None else float(low),
            maximum=math.inf if high is None else float(high),
            plural=base.plural if base else f"{label.lower()} values",
            short_unit=base.short_unit if base else _after_numbers(data.get("unit") or ""),
            column="" if data.get("column") == label else (data.get("column") or ""),
            transform=data.get("transform") or "none",
        )

    def with_bounds(self, minimum: float | None, maximum: float | None) -> "Feature":
        """The same feature with another validation range (None keeps a bound as it is)."""
        return replace(
            self,
            minimum=self.minimum if minimum is None else minimum,
            maximum=self.maximum if maximum is None else maximum,
        )


def too_large(values: np.ndarray) -> np.ndarray:
    """Which values are beyond ±MAX_MAGNITUDE (infinities too; NaN is not)."""
    with np.errstate(invalid="ignore"):
        return np.abs(values) > MAX_MAGNITUDE


def too_large_reason(name: str) -> str:
    """Why training drops a row whose `name` value is beyond ±MAX_MAGNITUDE."""
    return f"{name} too large (beyond ±{MAX_MAGNITUDE:.0e})".replace("e+", "e")


FEATURES: dict[str, Feature] = {
    feature.name: feature
    for feature in (
        Feature("annual_income", "Annual Income (k$)", "Income", "k$", 0.0, 10_000.0, "incomes", "k$"),
        Feature("spending_score", "Spending Score (1-100)", "Spending", "1 to 100", 1.0, 100.0, "spending scores"),
        Feature("age", "Age", "Age", "years", 0.0, 130.0, "ages", "years"),
    )
}

DEFAULT_FEATURES: tuple[str, ...] = ("annual_income", "spending_score")

# The public Mall Customers header, mapped to the snake_case names used everywhere else.
PUBLIC_HEADER: dict[str, str] = {
    "CustomerID": "customer_id",
    "Gender": "gender",
    "Age": "age",
    "Annual Income (k$)": "annual_income",
    "Spending Score (1-100)": "spending_score",
}

COLUMNS: tuple[str, ...] = tuple(PUBLIC_HEADER.values())


# Headers that hold a customer's id, as header_letters compares them ("Customer ID", "customer_id" and "CustomerID"
# are all "customerid"; "Kunden-Nr." is "kundennr", "N° client" "nclient", "Número de cliente" "numerodecliente"),
# most telling first; then as CRMs and spreadsheets in other languages export them (German, French, Spanish, Dutch,
# Italian, Portuguese). Customer files and RFM transactions files (app/models/rfm/columns.py) recognise the same ones.
CUSTOMER_ID_HEADERS: tuple[str, ...] = (
    "customerid", "customer", "customerno", "customernumber", "custid", "clientid", "client", "clientno",
    "userid", "memberid", "accountid", "buyerid", "shopperid",
    # German: Kunden-Nr., Kundennummer, Kunden-ID, KdNr
    "kundennr", "kundennummer", "kundenid", "kdnr",
    # French: N° client (Nº reads as "no"), Numéro (de) client, ID client, Code client
    "nclient", "noclient", "ndeclient", "numeroclient", "numerodeclient", "idclient", "codeclient",
    # Spanish: ID (del) cliente, Número de cliente, Nº de cliente, Código de cliente
    "idcliente", "iddelcliente", "numerodecliente", "nodecliente", "codigodecliente",
    # Dutch: Klantnummer, Klant-ID, Klantnr.
    "klantnummer", "klantid", "klantnr",
    # Italian: Codice cliente, Numero cliente (ID cliente is the Spanish spelling)
    "codicecliente", "numerocliente",
    # Portuguese: Código (do) cliente, Número do cliente, ID do cliente
    "codigodocliente", "codigocliente", "numerodocliente", "iddocliente",
)  # fmt: skip


def header_letters(name: str) -> str:
    """A header name as known names are compared: lower case, accents dropped ("Numéro" is "numero"), letters and
    digits only."""
    folded = unicodedata.normalize("NFKD", name.lower())
    return re.sub(r"[^a-z0-9]", "", "".join(char for char in folded if not unicodedata.combining(char)))


def normalise_column(name: str) -> str:
    """The feature (or known column) a header name stands for: the public header's name, else snake_case as given."""
    stripped = name.strip().lstrip("\ufeff").strip()
    return PUBLIC_HEADER.get(stripped, stripped.lower())


# A bare "Customer" or "Client" column of a customer file (a CRM export) often holds the person's name, and training
# drops a repeated id: only a transactions file, whose lines must name their customer somehow, reads one as the id.
NAME_LIKE_HEADERS = frozenset({"customer", "client"})


def customer_id_header(names: Sequence[str]) -> str | None:
    """A customer file's id header: the first of CUSTOMER_ID_HEADERS a header spells (as RFM picks its own), never a
    bare "Customer" or "Client"."""
    by_letters: dict[str, str] = {}
    for name in names:
        by_letters.setdefault(header_letters(name), name)
    known = (known for known in CUSTOMER_ID_HEADERS if known not in NAME_LIKE_HEADERS)
    return next((by_letters[name] for name in known if name in by_letters), None)


def normalise_columns(names: Sequence[str]) -> list[str]:
    """Each header name as normalise_column reads it, the one customer_id_header picks read as `customer_id`."""
    id_header = customer_id_header(names)
    return ["customer_id" if name == id_header else normalise_column(name) for name in names]


def columns_read_alike(names: Sequence[str], *, read: Collection[str] | None = None) -> str | None:
    """Why a header cannot be read, when two of its columns are read as one (normalise_columns: "Customer ID" and
    "customer_id" are both customer_id), in a sentence naming them and what to do; the first such name among `read`
    (any name when None); None when there is none. Training and scoring refuse such a file in the same words."""
    groups: dict[str, list[str]] = {}
    for name, normal in zip(names, normalise_columns(names), strict=True):
        groups.setdefault(normal, []).append(name)
    for normal, group in groups.items():
        if len(group) < 2 or (read is not None and normal not in read):
            continue
        shown = [f"'{safe_text(name, NAME_CHARS)}'" for name in group]
        if len(set(group)) == 1:
            return f"the column {shown[0]} appears {len(group)} times: remove or rename the copies"
        quoted = f"{', '.join(shown[:-1])} and {shown[-1]}"
        both, others = ("both", "the other") if len(group) == 2 else ("all", "the others")
        return (
            f"the columns {quoted} are {both} read as {normal}: keep the one that holds {normal}, and remove or rename "
            f"{others} (such as {shown[-1]} to '{safe_text(group[-1], NAME_CHARS)} 2')"
        )
    return None


def wanted_columns(features: "Sequence[str | Feature]") -> str:
    """Missing feature columns for a message: "'Annual Income (k$)' (or 'annual_income')", joined by commas."""
    parts = []
    for item in features:
        feature = item if isinstance(item, Feature) else FEATURES.get(item)
        if feature is None:
            parts.append(f"'{item}'")
            continue
        column = feature.source_column
        parts.append(f"'{column}' (or '{feature.name}')" if column != feature.name else f"'{column}'")
    return ", ".join(parts)


def features_of(info: dict[str, Any], names: list[str]) -> list[Feature]:
    """A model's features in order: from the spec it was trained with, else the built-in default features."""
    spec = {item["name"]: item for item in info.get("feature_spec") or []}
    return [Feature.from_dict(spec[name]) if name in spec else FEATURES[name] for name in names]


def to_model_space(X: np.ndarray, specs: Sequence[Feature]) -> np.ndarray:
    """Values in the features' own units to what a model clusters: log1p columns transformed, the rest as they are."""
    logged = [i for i, spec in enumerate(specs) if spec.transform == "log1p"]
    if not logged:
        return X
    X = np.array(X, dtype=np.float64, copy=True)
    X[..., logged] = np.log1p(X[..., logged])
    return X


def from_model_space(M: np.ndarray, specs: Sequence[Feature]) -> np.ndarray:
    """What a model clusters back to the features' own units."""
    logged = [i for i, spec in enumerate(specs) if spec.transform == "log1p"]
    if not logged:
        return M
    M = np.array(M, dtype=np.float64, copy=True)
    M[..., logged] = np.expm1(M[..., logged])
    return M


def _key(name: str) -> str:
    """A header name with case, spacing and underscores set aside: "Annual_Income " and "annual income" agree."""
    return " ".join(name.strip().lstrip("\ufeff").replace("_", " ").split()).lower()


def find_column(columns: Sequence[str], feature: Feature) -> str | None:
    """The column holding a feature: its source column, else its name; exact first, then ignoring case and spaces.

    Never a different name: two columns that both match loosely are refused rather than one picked.
    """
    wanted = [feature.source_column, normalise_column(feature.source_column), feature.name]
    for name in wanted:
        if name in columns:
            return name
    for name in wanted:
        found = [column for column in columns if _key(column) == _key(name)]
        if len(found) > 1:
            raise InvalidDataset(
                f"columns {', '.join(repr(column) for column in found)} could each be '{feature.source_column}': "
                "rename all but one"
            )
        if found:
            return found[0]
    return None
