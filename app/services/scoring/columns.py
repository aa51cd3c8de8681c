"""Which input column holds each thing the scorer reads: found in a header, or a message naming what is missing."""

from collections import Counter
from dataclasses import dataclass

from app.core.errors import InvalidDataset, InvalidRequest
from app.models.features import find_column, normalise_column, wanted_columns
from app.models.model import SegmentationModel
from app.services.scoring.options import ScoreOptions
from app.services.scoring.score_columns import ERROR_COLUMN, SCORE_COLUMNS, appended_columns, explanation_columns
from app.utils.text import safe_text

# Messages quote a header's names: cut, so a file of thousand-character names still gets a readable answer.
NAMES_QUOTED = 20
NAME_QUOTED_CHARS = 60
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

    def output_names(self, options: ScoreOptions) -> list[str]:
        """The output header: every input column, then the score columns, any extra ones, and `error` when flagging."""
        appended = appended_columns(options.on_error, options.extra_columns, options.explained(list(self.features)))
        return [*self.names, *(column.name for column in appended)]


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
    by_normal: dict[str, str] = {}
    for name in names:
        by_normal.setdefault(normalise_column(name), name)
    explicit = {"annual_income": options.income_column, "spending_score": options.spending_column}
    if options.income_column is not None and options.income_column == options.spending_column:
        raise InvalidRequest(
            f"income_column and spending_column both name '{safe_text(options.income_column, NAME_QUOTED_CHARS)}': "
            "annual income and spending score must come from two different columns"
        )
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
        hint = (
            ", or name them with income_column= and spending_column=" if explicit.keys() & set(model.features) else ""
        )
        raise InvalidRequest(f"missing column(s) {wanted_columns(missing)}{hint}; found: {found}")
    return Columns(
        names=list(names),
        features=features,
        customer_id=options.id_column or by_normal.get("customer_id"),
        age=by_normal.get("age") if "age" not in features else features["age"],
        gender=by_normal.get("gender"),
    )
