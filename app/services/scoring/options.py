"""How to read a customer file and what to do with its bad rows: the options, and the one way a query sets them."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from app.core.errors import InvalidRequest
from app.schemas.scoring import ScoreQuery
from app.services.scoring.score_columns import EXTRA_COLUMNS
from app.utils.text import safe_text

OnError = Literal["flag", "skip", "reject"]
ON_ERROR_POLICIES: tuple[str, ...] = ("flag", "skip", "reject")
DELIMITERS: tuple[str, ...] = (",", ";")
# Peak memory follows the chunk: 16k rows keep the CLI's peak under a quarter of a whole-file pandas script's at
# 5M rows, and larger chunks gained little speed (benchmarks/run.py, "CLI score").
DEFAULT_CHUNK_ROWS = 16_384
# Messages quote a header's names: cut, so a file of thousand-character names still gets a readable answer.
NAME_QUOTED_CHARS = 60


@dataclass(frozen=True)
class ScoreOptions:
    """How to read a customer file and what to do with its bad rows."""

    on_error: OnError = "flag"
    delimiter: str | None = None  # None: sniffed from the header line
    income_column: str | None = None
    spending_column: str | None = None
    # (feature, the file's column holding it): any feature of the segmentation, the default's two included.
    feature_columns: tuple[tuple[str, str], ...] = ()
    id_column: str | None = None
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    formula_guard: bool = True  # a leading ' on text cells a spreadsheet would run as a formula
    excel: bool = False  # a UTF-8 BOM at the start of the labelled CSV
    extra_columns: tuple[str, ...] = ()  # of EXTRA_COLUMNS
    target_segment: str | None = None  # every row's target segment (id or name): adds change_<feature> columns
    explain: bool = False  # each row's explanation columns (typical range, position, shares, confidence text)

    def __post_init__(self) -> None:
        if self.on_error not in ON_ERROR_POLICIES:
            raise InvalidRequest(f"on_error must be one of {', '.join(ON_ERROR_POLICIES)}, got '{self.on_error}'")
        if self.delimiter is not None and self.delimiter not in DELIMITERS:
            raise InvalidRequest(f"delimiter must be ',' or ';', got '{self.delimiter}'")
        if self.chunk_rows < 1:
            raise InvalidRequest("chunk_rows must be at least 1")
        unknown = [name for name in self.extra_columns if name not in EXTRA_COLUMNS]
        if unknown:
            raise InvalidRequest(
                f"extra_columns may name {', '.join(EXTRA_COLUMNS)}, not {', '.join(repr(name) for name in unknown)}"
            )
        self.named_columns()

    def named_columns(self) -> dict[str, str]:
        """Each feature's file column: from column=, and the default's two from income_column= and spending_column=."""
        named: dict[str, str] = {}
        given = [
            *(("column", feature, column) for feature, column in self.feature_columns),
            ("income_column", "annual_income", self.income_column),
            ("spending_column", "spending_score", self.spending_column),
        ]
        for parameter, feature, column in given:
            if column is None:
                continue
            if named.get(feature, column) != column:
                raise InvalidRequest(
                    f"{parameter}= names '{safe_text(column, NAME_QUOTED_CHARS)}' and column= names "
                    f"'{safe_text(named[feature], NAME_QUOTED_CHARS)}' for {feature}: give one column for each feature"
                )
            named[feature] = column
        return named

    def explained(self, features: Sequence[str]) -> tuple[str, ...]:
        """The features whose explanation columns are appended: all of them with explain, else none."""
        return tuple(features) if self.explain else ()


def score_options(*, query: ScoreQuery) -> ScoreOptions:
    """The options a validated query asks for: the API's query string and the /score page's form alike."""
    return ScoreOptions(
        on_error=query.on_error,
        delimiter=query.separator(),
        income_column=query.income_column,
        spending_column=query.spending_column,
        feature_columns=query.feature_columns(),
        id_column=query.id_column,
        formula_guard=query.formula_guard,
        excel=query.excel,
        extra_columns=tuple(query.extra_columns),
        target_segment=query.target_segment,
        explain=query.explain,
    )
