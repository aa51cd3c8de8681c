"""Which input column holds each thing the scorer reads: found in a header, or a message naming what is missing."""

from collections import Counter
from dataclasses import dataclass

from app.core.errors import InvalidDataset, InvalidRequest
from app.models.counterfactual import segment_position
from app.models.features import (
    DEFAULT_FEATURES,
    Feature,
    columns_read_alike,
    find_column,
    normalise_columns,
    wanted_columns,
)
from app.models.model import SegmentationModel
from app.services.scoring.options import NAME_QUOTED_CHARS, ScoreOptions
from app.services.scoring.score_columns import (
    ERROR_COLUMN,
    SCORE_COLUMNS,
    TARGET_COLUMN,
    ScoreColumn,
    appended_columns,
    counterfactual_columns,
    explanation_columns,
)
from app.utils.text import safe_text

# Messages quote at most this many of a header's names (each cut to NAME_QUOTED_CHARS).
NAMES_QUOTED = 20
# A customer file has a few dozen columns; past this many it is not one, and every per-column step (the header's
# names, duplicates, the output header) would cost time for nothing. Checked before any of them.
MAX_COLUMNS = 1_000


@dataclass(frozen=True)
class Columns:
    """Which input column holds each thing the scorer reads (None when the file does not have it)."""

    names: list[str]
    features: dict[str, str]  # model feature -> input column
    customer_id: str | None = None
    age: str | None = None
    gender: str | None = None
    # A target segment to move customers into: one for every row (a position in model.segments), or the file's
    # column naming each row's; `changes` lists the features that get a change_<feature> column (none: no target).
    target_position: int | None = None
    target_column: str | None = None
    changes: tuple[str, ...] = ()

    def appended(self, options: ScoreOptions) -> tuple[ScoreColumn, ...]:
        """The columns scoring appends to every row of this file."""
        explained = options.explained(list(self.features))
        return appended_columns(options.on_error, options.extra_columns, explained, self.changes)

    def output_names(self, options: ScoreOptions) -> list[str]:
        """The output header: every input column, then the score columns, any extra ones, and `error` when flagging."""
        return [*self.names, *(column.name for column in self.appended(options))]


def check_width(count: int, *, at_least: bool = False) -> None:
    """Refuse a file with more than MAX_COLUMNS columns (`at_least`: the count is of a header read in part)."""
    if count > MAX_COLUMNS:
        raise InvalidRequest(
            f"the file has {'at least ' if at_least else ''}{count:,} columns; a customer file may have at most "
            f"{MAX_COLUMNS:,}: keep the columns you need"
        )


def quoted_names(names: list[str]) -> str:
    """Column names for a message: each quoted and cut short, at most NAMES_QUOTED of them."""
    shown = ", ".join(f"'{safe_text(name, NAME_QUOTED_CHARS)}'" for name in names[:NAMES_QUOTED]) or "none"
    return shown + (f" and {len(names) - NAMES_QUOTED} more" if len(names) > NAMES_QUOTED else "")


def resolve_columns(model: SegmentationModel, names: list[str], options: ScoreOptions) -> Columns:
    """Find the model's features (and id, age, gender) in a header, or say which columns are missing."""
    check_width(len(names))
    found = quoted_names(names)
    if not names or all(not name.strip() for name in names):
        raise InvalidRequest("the file has no header row; the first line must name the columns")
    scored = [name for name in names if name in (*SCORE_COLUMNS, ERROR_COLUMN)]
    if scored:
        raise InvalidRequest(
            f"the file already has the output column(s) {', '.join(scored)}: it looks scored already; "
            "remove or rename them"
        )
    extra = [name for name in names if name in options.extra_columns]
    if extra:
        raise InvalidRequest(
            f"the file already has the column(s) {', '.join(extra)} that extra_columns= asks to add; "
            "rename them, or leave them out of extra_columns"
        )
    explaining = {column.name for column in explanation_columns(options.explained(model.features))}
    taken = [name for name in names if name in explaining]
    if taken:
        raise InvalidRequest(
            f"the file already has the column(s) {', '.join(taken)} that explain=true adds; rename them, or score "
            "without explain"
        )
    duplicated = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicated:
        raise InvalidRequest(f"duplicated column name(s): {quoted_names(duplicated)}; found: {found}")
    explicit = options.named_columns()
    # Two columns read as one that scoring reads (the id, age, gender, a target, a feature not named by column=):
    # refused in training's words, never the first of them picked.
    read = {"age", "gender", TARGET_COLUMN, *(feature for feature in model.features if feature not in explicit)}
    problem = columns_read_alike(names, read=read if options.id_column else {*read, "customer_id"})
    if problem:
        raise InvalidRequest(problem)
    by_normal: dict[str, str] = {}
    for name, normal in zip(names, normalise_columns(names), strict=True):
        by_normal.setdefault(normal, name)
    if options.income_column is not None and options.income_column == options.spending_column:
        raise InvalidRequest(
            f"income_column and spending_column both name '{safe_text(options.income_column, NAME_QUOTED_CHARS)}': "
            "annual income and spending score must come from two different columns"
        )
    unknown = [feature for feature, _ in options.feature_columns if feature not in model.features]
    if unknown:
        raise InvalidRequest(
            f"column= names {quoted_names(unknown)}: not a feature of this segmentation, whose features are "
            f"{quoted_names(model.features)}"
        )
    # income_column= and spending_column= name the default's two features: for any other segmentation they are
    # only checked against the header, as they always were.
    for key, given in [*explicit.items(), ("customer_id", options.id_column)]:
        if given is not None and given not in names:
            raise InvalidRequest(
                f"the column mapping names '{safe_text(given, NAME_QUOTED_CHARS)}' for {key}, which the file does "
                f"not have; found: {found}"
            )
    features: dict[str, str] = {}
    missing = []
    for feature, spec in zip(model.features, model.feature_specs, strict=True):
        # The one rule training reads a feature's column by (app/models/features.find_column): its own column, the
        # public header's name for it, or its name; exact first, then with case, spaces and underscores set aside.
        try:
            column = explicit.get(feature) or find_column(names, spec)
        except InvalidDataset as exc:
            raise InvalidRequest(exc.message) from None
        if column is None:
            missing.append(spec)
        else:
            features[feature] = column
    if missing:
        raise InvalidRequest(f"missing column(s) {wanted_columns(missing)}{_mapping_hint(missing)}; found: {found}")
    _one_column_each(features)
    return Columns(
        names=list(names),
        features=features,
        customer_id=options.id_column or by_normal.get("customer_id"),
        age=by_normal.get("age") if "age" not in features else features["age"],
        gender=by_normal.get("gender"),
        **_target(model, names, by_normal, options),
    )


def _mapping_hint(missing: list[Feature]) -> str:
    """How to name the missing features' columns: the default's two by their own parameters, any other by column=."""
    if {spec.name for spec in missing} <= set(DEFAULT_FEATURES):
        return ", or name them with income_column= and spending_column="
    return ", or name the column of each with column=<feature>:<column>"


def _one_column_each(features: dict[str, str]) -> None:
    """Refuse a column read as two features (one named for a feature that another's name finds, say)."""
    read_as: dict[str, str] = {}
    for feature, column in features.items():
        if column in read_as:
            raise InvalidRequest(
                f"{read_as[column]} and {feature} would both be read from '{safe_text(column, NAME_QUOTED_CHARS)}': "
                "each feature needs its own column; name another with column="
            )
        read_as[column] = feature


def _target(model: SegmentationModel, names: list[str], by_normal: dict[str, str], options: ScoreOptions) -> dict:
    """Where each row's target segment comes from (the parameter or the file's column), and the columns it adds."""
    column = by_normal.get(TARGET_COLUMN)
    if column is None and options.target_segment is None:
        return {}
    if column is not None and options.target_segment is not None:
        raise InvalidRequest(
            f"the file has a '{safe_text(column, NAME_QUOTED_CHARS)}' column and target_segment= is given too: "
            "give the target as a parameter or as a column, not both"
        )
    taken = [c.name for c in counterfactual_columns(model.features) if c.name in names]
    if taken:
        raise InvalidRequest(
            f"the file already has the column(s) {', '.join(taken)} that a target segment adds; rename them"
        )
    position = None if options.target_segment is None else segment_position(model, options.target_segment)
    return {"target_position": position, "target_column": column, "changes": tuple(model.features)}
