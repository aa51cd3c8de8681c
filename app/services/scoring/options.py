"""How to read a customer file and what to do with its bad rows: the options, and the one way a query sets them."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from app.core.errors import InvalidRequest
from app.schemas.scoring import ScoreQuery
from app.services.scoring.score_columns import EXTRA_COLUMNS

OnError = Literal["flag", "skip", "reject"]
ON_ERROR_POLICIES: tuple[str, ...] = ("flag", "skip", "reject")
DELIMITERS: tuple[str, ...] = (",", ";")
# Peak memory follows the chunk: 16k rows keep the CLI's peak under a quarter of a whole-file pandas script's at
# 5M rows, and larger chunks gained little speed (benchmarks/run.py, "CLI score").
DEFAULT_CHUNK_ROWS = 16_384


@dataclass(frozen=True)
class ScoreOptions:
    """How to read a customer file and what to do with its bad rows."""

    on_error: OnError = "flag"
    delimiter: str | None = None  # None: sniffed from the header line
    income_column: str | None = None
    spending_column: str | None = None
    id_column: str | None = None
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    formula_guard: bool = True  # a leading ' on text cells a spreadsheet would run as a formula
    excel: bool = False  # a UTF-8 BOM at the start of the labelled CSV
    extra_columns: tuple[str, ...] = ()  # of EXTRA_COLUMNS
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
        id_column=query.id_column,
        formula_guard=query.formula_guard,
        excel=query.excel,
        extra_columns=tuple(query.extra_columns),
        explain=query.explain,
    )
