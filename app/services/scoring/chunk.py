"""One scored chunk before it becomes a table: the input columns and each appended column, coded where it can be.

A segment's name, a flag or a bad row's reason is one of a few labels: kept as the labels and each row's pick, a
CSV writer renders every label once instead of once a row, and an Arrow table takes them when one is wanted.
"""

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from app.services.scoring.score_columns import ScoreColumn


@dataclass(frozen=True)
class Coded:
    """A column of `labels[picks[i]]`, empty (null) where `missing` is set: labels typed as the column is."""

    labels: pa.Array
    picks: np.ndarray  # int32, one per row
    missing: np.ndarray | None = None  # bool, one per row; None when no cell is empty

    def array(self) -> pa.Array:
        """The column as an Arrow array (nulls where missing)."""
        return pc.take(self.labels, pa.array(self.picks, pa.int32(), mask=self.missing))

    def codes(self) -> np.ndarray:
        """Each row's label index, `len(labels)` standing for an empty cell."""
        if self.missing is None or not self.missing.any():
            return self.picks
        return np.where(self.missing, np.int32(len(self.labels)), self.picks)


def coded(labels: pa.Array, picks: np.ndarray, missing: np.ndarray | None = None) -> Coded:
    """A Coded column; `picks` as int32 (any value where missing)."""
    return Coded(labels, np.asarray(picks, dtype=np.int32), missing)


@dataclass
class ScoredChunk:
    """A scored chunk: the input columns as read, then the appended columns (Coded or Arrow arrays) in order."""

    inputs: pa.Table
    appended: list[tuple[ScoreColumn, "Coded | pa.Array"]]
    _table: pa.Table | None = field(default=None, repr=False)

    @property
    def num_rows(self) -> int:
        """Rows in the chunk."""
        return self.inputs.num_rows

    @property
    def table(self) -> pa.Table:
        """The chunk as one Arrow table: the input columns unchanged, then the score columns."""
        if self._table is None:
            table = self.inputs
            for column, data in self.appended:
                table = table.append_column(column.name, data.array() if isinstance(data, Coded) else data)
            self._table = table
        return self._table
