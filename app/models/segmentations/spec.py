"""What a segmentation is: a name, a kind and the features its versions are trained on."""

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.core.errors import InvalidRequest
from app.models.features import DEFAULT_FEATURES, FEATURE_NAME, FEATURES, TRANSFORMS, Feature
from app.utils.text import hidden_or_line_breaking_char

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,39}$")
DEFAULT_NAME = "default"
KINDS = ("columns", "rfm")
MIN_FEATURES, MAX_FEATURES = 2, 8
# The columns an RFM segmentation reads from a transactions file: customer id, date, and an amount or
# quantity x unit price; an order id makes frequency count orders rather than lines.
RFM_ROLES = ("customer_id", "date", "amount", "quantity", "unit_price", "order_id")
MONETARY = ("total", "average")
NON_POSITIVE = ("flag", "drop")
# Names a scored file or a summary already uses for something else: a feature cannot take them.
RESERVED_NAMES = frozenset(
    {"customer_id", "segment_id", "segment_name", "confidence", "distance", "is_atypical", "out_of_range", "error",
     "runner_up", "description", "marketing_strategy"}
)  # fmt: skip
# Text limits for what a spec holds: it is shown on every page and in /docs.
MAX_LABEL, MAX_UNIT, MAX_COLUMN, MAX_DESCRIPTION = 60, 20, 200, 500

RFM_FEATURES: tuple[Feature, ...] = (
    Feature("recency_days", "Recency", "Recency", "days", 0.0, math.inf, "recencies", "days", "recency_days"),
    Feature(
        "frequency", "Frequency", "Frequency", "orders", 0.0, math.inf, "order counts", "orders", "frequency", "log1p"
    ),
    Feature("monetary", "Monetary", "Monetary", "", 0.0, math.inf, "spends", "", "monetary", "log1p"),
)
# RFM features that count (orders): a change to one is whole, as no customer places 1.62 more orders.
RFM_COUNTS = frozenset({"frequency"})


@dataclass(frozen=True)
class RfmOptions:
    """How an RFM segmentation builds its customer table from transactions."""

    # Role -> header name; a role left out is detected from the file's header.
    columns: dict[str, str] = field(default_factory=dict)
    monetary: str = "total"  # net total per customer, or average order value
    non_positive: str = "flag"  # customers whose net spend is <= 0: kept and flagged, or dropped
    date_format: str | None = None  # strptime format; inferred once per file when absent

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready options."""
        return {
            "columns": dict(self.columns),
            "monetary": self.monetary,
            "non_positive": self.non_positive,
            "date_format": self.date_format,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "RfmOptions":
        """Options from a request or a spec file, checked."""
        data = data or {}
        # Trimmed as a file's headers are read: "CustomerID " names the column CustomerID.
        columns = {str(role): str(name).strip() for role, name in (data.get("columns") or {}).items() if name}
        columns = {role: name for role, name in columns.items() if name}
        unknown = sorted(set(columns) - set(RFM_ROLES))
        if unknown:
            raise InvalidRequest(f"unknown RFM column role(s): {', '.join(unknown)}; known: {', '.join(RFM_ROLES)}")
        too_long = [role for role, name in columns.items() if len(name) > MAX_COLUMN]
        if too_long:
            raise InvalidRequest(f"the column name for {too_long[0]} is longer than {MAX_COLUMN} characters")
        shared = sorted({name for name in columns.values() if list(map(_same_column, columns.values())).count(
            _same_column(name)) > 1})  # fmt: skip
        if shared:
            raise InvalidRequest(f"each RFM role needs its own column; {shared[0]!r} is named for more than one")
        options = cls(
            columns=columns,
            monetary=data.get("monetary") or "total",
            non_positive=data.get("non_positive") or "flag",
            date_format=data.get("date_format") or None,
        )
        if options.monetary not in MONETARY:
            raise InvalidRequest(f"monetary must be one of {', '.join(MONETARY)}, got {options.monetary!r}")
        if options.non_positive not in NON_POSITIVE:
            raise InvalidRequest(f"non_positive must be one of {', '.join(NON_POSITIVE)}, got {options.non_positive!r}")
        if options.date_format is not None and not _is_date_format(options.date_format):
            raise InvalidRequest(
                f"date_format {options.date_format[:64]!r} is not a strptime format of a date, such as '%d/%m/%Y %H:%M'"
            )
        return options


@dataclass(frozen=True)
class SegmentationSpec:
    """A named line of model versions over one set of features."""

    name: str
    kind: str
    features: tuple[Feature, ...]
    rfm: RfmOptions | None = None
    description: str = ""
    created_at: str = ""

    @property
    def feature_names(self) -> list[str]:
        """The features' names, in order."""
        return [feature.name for feature in self.features]

    def feature(self, name: str) -> Feature:
        """One feature by name."""
        return next(feature for feature in self.features if feature.name == name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready spec, as the API shows it and segmentation.json stores it."""
        data: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "features": [feature.to_dict() for feature in self.features],
            "description": self.description,
            "created_at": self.created_at,
        }
        if self.rfm is not None:
            data["rfm"] = self.rfm.to_dict()
        return data

    @classmethod
    def from_request(cls, data: dict[str, Any]) -> "SegmentationSpec":
        """A spec from a create request: `from_dict` once the texts pages show are checked."""
        # Only here: a spec already saved is read as it is, so one written before this check still loads.
        _check_request_texts(data)
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SegmentationSpec":
        """A spec from a create request or segmentation.json; InvalidRequest says what is wrong."""
        name = check_name(data.get("name"))
        kind = data.get("kind") or "columns"
        if kind not in KINDS:
            raise InvalidRequest(f"kind must be one of {', '.join(KINDS)}, got {str(kind)[:40]!r}")
        description = str(data.get("description") or "")
        if len(description) > MAX_DESCRIPTION:
            raise InvalidRequest(f"the description is longer than {MAX_DESCRIPTION} characters")
        if kind == "rfm":
            given = [item.get("name") if isinstance(item, dict) else item for item in data.get("features") or []]
            if given and given != [feature.name for feature in RFM_FEATURES]:
                raise InvalidRequest("an rfm segmentation's features are recency_days, frequency and monetary: leave "
                                     "`features` out (name its file's columns with `columns`)")  # fmt: skip
            rfm = RfmOptions.from_dict(data.get("rfm") or {"columns": data.get("columns"), **_rfm_flat(data)})
            features = rfm_features(rfm)
            return cls(name, kind, features, rfm, description, str(data.get("created_at") or ""))
        extra = [key for key in ("columns", "rfm", *_rfm_flat(data)) if data.get(key)]
        if extra:
            raise InvalidRequest(f"{extra[0]} is for rfm segmentations; a columns segmentation names its `features`")
        items = data.get("features")
        if not isinstance(items, list) or not MIN_FEATURES <= len(items) <= MAX_FEATURES:
            raise InvalidRequest(f"a columns segmentation needs {MIN_FEATURES} to {MAX_FEATURES} features")
        features = tuple(_feature(item, index) for index, item in enumerate(items))
        for attribute, noun in (("name", "name"), ("source_column", "column")):
            values = [getattr(feature, attribute) for feature in features]
            same = [_same_column(value) for value in values]
            repeated = sorted({value for value, key in zip(values, same, strict=True) if same.count(key) > 1})
            if repeated:
                raise InvalidRequest(f"each feature needs its own {noun}; repeated: {', '.join(repeated)}")
        return cls(name, kind, features, None, description, str(data.get("created_at") or ""))


def _check_request_texts(data: dict[str, Any]) -> None:
    """Refuse hidden characters in the texts pages, charts, reports and emails show, and in RFM column names."""
    # A description may break lines; a column name holds no control character, as no header does.
    description = data.get("description")
    if isinstance(description, str):
        hidden = hidden_or_line_breaking_char(description.replace("\r\n", " ").replace("\n", " "))
        if hidden is not None:
            raise InvalidRequest(
                f"the description cannot hold a control or invisible character (found U+{ord(hidden):04X})"
            )
    for index, item in enumerate(data.get("features") or []):
        for key in ("label", "unit"):
            value = item.get(key) if isinstance(item, dict) else None
            hidden = hidden_or_line_breaking_char(value) if isinstance(value, str) else None
            if hidden is not None:
                raise InvalidFeature(
                    index,
                    f"features[{index}].{key} must be one line of visible text (found U+{ord(hidden):04X})",
                    f"the {_TEXT_NOUNS[key]} must be one line of visible text: no line break, tab, control or "
                    "invisible character",
                )
    rfm = data.get("rfm") if isinstance(data.get("rfm"), dict) else {}
    columns = data.get("columns") or rfm.get("columns") or {}
    for role, name in columns.items() if isinstance(columns, dict) else ():
        control = next((char for char in str(name) if unicodedata.category(char) == "Cc"), None)
        if control is not None:
            raise InvalidRequest(
                f"the column name for {role} cannot hold a control character such as a tab or a line break "
                f"(found U+{ord(control):04X})"
            )


def _same_column(name: str) -> str:
    """A header name as files vary it: case, spaces and underscores set aside."""
    return " ".join(name.replace("_", " ").split()).lower()


def _is_date_format(text: str) -> bool:
    """Whether `text` is a strptime format that writes a day and reads back the same day."""
    if len(text) > 64 or not {"%d", "%j"} & {text[i : i + 2] for i in range(len(text) - 1)}:
        return False
    sample = datetime(2027, 11, 23, 14, 5, 9)
    try:
        return datetime.strptime(sample.strftime(text), text).date() == sample.date()
    except ValueError:
        return False


def _rfm_flat(data: dict[str, Any]) -> dict[str, Any]:
    """The RFM options a create request may give at the top level, next to `columns`."""
    return {key: data[key] for key in ("monetary", "non_positive", "date_format") if key in data}


def rfm_features(options: RfmOptions) -> tuple[Feature, ...]:
    """Recency, frequency and monetary, the last named for the options (total or average order value)."""
    recency, frequency, monetary = RFM_FEATURES
    if options.monetary == "average":
        monetary = Feature(
            "monetary", "Average order value", "Average order value", "", 0.0, math.inf, "order values", "",
            "monetary", "log1p",
        )  # fmt: skip
    return recency, frequency, monetary


def check_name(name: Any) -> str:
    """A segmentation name, or InvalidRequest saying what a name may be."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        shown = str(name)[:40] if name is not None else "nothing"
        raise InvalidRequest(
            f"a segmentation name is 2 to 40 characters: a lowercase letter, then lowercase letters, digits or '-'; "
            f"got {shown!r}"
        )
    return name


class InvalidFeature(InvalidRequest):
    """A feature of a create request that cannot be: which one (its index) and what is wrong, also in plain words."""

    def __init__(self, index: int, message: str, problem: str) -> None:
        super().__init__(message)
        self.index = index
        # Without the request's field path, for a form to name the feature its own way: "the minimum must be ...".
        self.problem = problem


_NAME_RULE = "1 to 40 characters: a lowercase letter, then lowercase letters, digits or '_'"
_TEXT_NOUNS = {"column": "column name", "label": "label", "unit": "unit"}
_BOUND_NOUNS = {"min": "minimum", "max": "maximum"}


def _feature(item: Any, index: int) -> Feature:
    """One feature item of a create request, checked: name, column, label, unit, transform, min and max."""
    if not isinstance(item, dict):
        raise InvalidRequest(f"features[{index}] must be an object with name, column, label, unit and transform")
    unknown = sorted(set(item) - {"name", "column", "label", "unit", "transform", "min", "max"})
    if unknown:
        raise InvalidRequest(f"features[{index}] has unknown field(s): {', '.join(unknown)}")
    name = item.get("name")
    if name in RESERVED_NAMES:
        raise InvalidFeature(
            index,
            f"features[{index}].name {name!r} is a column every scored file gets; name the feature otherwise",
            f"the feature name {name!r} is taken by a column every scored file gets: choose another",
        )
    if not isinstance(name, str) or not FEATURE_NAME.fullmatch(name):
        rule = f"must be {_NAME_RULE}; got {str(name)[:40]!r}"
        raise InvalidFeature(index, f"features[{index}].name {rule}", f"the feature name {rule}")
    for key, limit in (("column", MAX_COLUMN), ("label", MAX_LABEL), ("unit", MAX_UNIT)):
        value = item.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise InvalidFeature(
                index,
                f"features[{index}].{key} ({name}) must be text of at most {limit} characters",
                f"the {_TEXT_NOUNS[key]} must be at most {limit} characters",
            )
    column = item.get("column")
    if isinstance(column, str):
        control = next((char for char in column if unicodedata.category(char) == "Cc"), None)
        if control is not None:
            raise InvalidFeature(
                index,
                f"features[{index}].column ({name}) cannot hold a control character such as a tab or a line break "
                f"(found U+{ord(control):04X})",
                "the column name cannot hold a control character such as a tab or a line break",
            )
        column = column.strip()  # as a file's headers are read (app/models/dataset.py): "Tenure " is "Tenure"
    if not column:
        raise InvalidFeature(
            index,
            f"features[{index}].column ({name}) must name the file's column that holds it",
            "the file's column that holds it must be named",
        )
    transform = item.get("transform") or "none"
    if transform not in TRANSFORMS:
        raise InvalidFeature(
            index,
            f"features[{index}].transform ({name}) must be one of {', '.join(TRANSFORMS)}",
            f"the transform must be one of {', '.join(TRANSFORMS)}",
        )
    bounds = []
    for key in ("min", "max"):
        value = item.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
        ):
            raise InvalidFeature(
                index,
                f"features[{index}].{key} ({name}) must be a finite number or null",
                f"the {_BOUND_NOUNS[key]} must be a finite number, or empty for no bound",
            )
        bounds.append(value)
    low, high = bounds
    if low is not None and high is not None and low >= high:
        raise InvalidFeature(
            index, f"features[{index}] ({name}): min must be below max", "the minimum must be below the maximum"
        )
    if transform == "log1p" and low is not None and low < 0:
        raise InvalidFeature(
            index,
            f"features[{index}] ({name}): a log1p feature cannot go below 0",
            "with log(1 + x) the minimum cannot be below 0",
        )
    return Feature.from_dict({**item, "column": column, "transform": transform})


def default_spec() -> SegmentationSpec:
    """The built-in segmentation: annual income and spending score of the bundled customers."""
    return SegmentationSpec(
        DEFAULT_NAME,
        "columns",
        tuple(FEATURES[name] for name in DEFAULT_FEATURES),
        description="Annual income and spending score, the bundled Mall Customers model.",
    )
