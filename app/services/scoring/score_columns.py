"""The columns scoring appends to every input row: one table, from which the header, Arrow and pandas types derive."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True)
class ScoreColumn:
    """One appended column: its name, its Arrow type, its pandas dtype (the Dask engine's Parquet output), and the
    decimals it is rounded to (None: written in full)."""

    name: str
    arrow: pa.DataType
    pandas: str
    decimals: int | None = None


# pandas dtypes are the nullable ones, since a flagged row has no score; `str` (not object) so that to_parquet works
# under pandas 3.
SCORE_COLUMN_TABLE: tuple[ScoreColumn, ...] = (
    ScoreColumn("segment_id", pa.int64(), "Int64"),
    ScoreColumn("segment_name", pa.string(), "str"),
    # Four decimals tell segments apart; seventeen digits of a ratio of distances only look precise.
    ScoreColumn("confidence", pa.float64(), "float64", decimals=4),
    ScoreColumn("distance", pa.float64(), "float64"),
    ScoreColumn("is_atypical", pa.bool_(), "boolean"),
    ScoreColumn("out_of_range", pa.bool_(), "boolean"),
)
# Appended only when asked for (extra_columns=), after the score columns and in this order: the second-nearest
# segment's name, and the scored segment's description and marketing strategy.
EXTRA_COLUMN_TABLE: tuple[ScoreColumn, ...] = (
    ScoreColumn("runner_up", pa.string(), "str"),
    ScoreColumn("description", pa.string(), "str"),
    ScoreColumn("marketing_strategy", pa.string(), "str"),
)
# Appended when a target segment is given (target_segment= or a `target_segment` column): the signed change of each
# feature that moves the customer into it, and whether any change does (empty change cells when not).
TARGET_COLUMN = "target_segment"
REACHABLE_COLUMN = "reachable"
CHANGE_PREFIX = "change_"
# Appended with explain=true, after the extra columns: five per model feature, then one sentence about confidence.
EXPLANATION_PREFIXES = ("typical_low_", "typical_high_", "position_", "share_of_distance_", "share_of_margin_")
CONFIDENCE_TEXT_COLUMN = "confidence_text"
# The typical ranges' decimals: as many as a share's, enough for a feature measured in fractions.
TYPICAL_DECIMALS = 4
ERROR_COLUMN = "error"
_ERROR = ScoreColumn(ERROR_COLUMN, pa.string(), "str")
SCORE_COLUMNS: tuple[str, ...] = tuple(column.name for column in SCORE_COLUMN_TABLE)
EXTRA_COLUMNS: tuple[str, ...] = tuple(column.name for column in EXTRA_COLUMN_TABLE)


def counterfactual_columns(features: Sequence[str]) -> tuple[ScoreColumn, ...]:
    """`change_<feature>` for each feature, then `reachable` (none without features)."""
    if not features:
        return ()
    changes = tuple(ScoreColumn(f"{CHANGE_PREFIX}{name}", pa.float64(), "float64") for name in features)
    return (*changes, ScoreColumn(REACHABLE_COLUMN, pa.bool_(), "boolean"))


def explanation_columns(features: Sequence[str]) -> tuple[ScoreColumn, ...]:
    """The explanation's columns for these features (none when nothing is explained)."""
    if not features:
        return ()
    columns = []
    for feature in features:
        low, high, position, distance, margin = (prefix + feature for prefix in EXPLANATION_PREFIXES)
        # A typical range is a percentile of the training rows: its last float bits (93489.56200000002) are noise.
        columns += [
            ScoreColumn(low, pa.float64(), "float64", decimals=TYPICAL_DECIMALS),
            ScoreColumn(high, pa.float64(), "float64", decimals=TYPICAL_DECIMALS),
            ScoreColumn(position, pa.string(), "str"),
            ScoreColumn(distance, pa.float64(), "float64", decimals=4),
            ScoreColumn(margin, pa.float64(), "float64", decimals=4),
        ]
    return (*columns, ScoreColumn(CONFIDENCE_TEXT_COLUMN, pa.string(), "str"))


def appended_columns(
    on_error: str,
    extra_columns: Collection[str] = (),
    explained: Sequence[str] = (),
    counterfactual: Sequence[str] = (),
) -> tuple[ScoreColumn, ...]:
    """The columns appended: the score columns, the extra columns asked for, the explanation of the `explained`
    features, the changes to a target segment (of the `counterfactual` features), then `error` when flagging."""
    extras = tuple(column for column in EXTRA_COLUMN_TABLE if column.name in extra_columns)
    return (
        *SCORE_COLUMN_TABLE,
        *extras,
        *explanation_columns(explained),
        *counterfactual_columns(counterfactual),
        *((_ERROR,) if on_error == "flag" else ()),
    )


def appended_fields(
    on_error: str,
    extra_columns: Collection[str] = (),
    explained: Sequence[str] = (),
    counterfactual: Sequence[str] = (),
) -> list[pa.Field]:
    """The appended columns as Arrow fields."""
    return [pa.field(c.name, c.arrow) for c in appended_columns(on_error, extra_columns, explained, counterfactual)]


def output_column_names(features: Sequence[str]) -> frozenset[str]:
    """Every column scoring may add to a file of a model of these features (each option asked for), and the
    `target_segment` column it reads targets from: outputs, never a customer's own data."""
    every = appended_columns("flag", EXTRA_COLUMNS, explained=features, counterfactual=features)
    return frozenset(column.name for column in every) | {TARGET_COLUMN}
