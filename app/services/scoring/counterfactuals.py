"""A scored file's moves into a target segment: `change_<feature>` and `reachable` columns, computed vectorised."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from app.core.errors import InvalidRequest, UnknownSegment
from app.models.counterfactual import counterfactuals, segment_position
from app.models.model import SegmentationModel
from app.services.scoring.columns import Columns
from app.services.scoring.score_columns import CHANGE_PREFIX, REACHABLE_COLUMN
from app.utils.numbers import whole_number
from app.utils.text import safe_text


def _file_targets(model: SegmentationModel, column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's target position from a `target_segment` column (ids or names) and whether it names one at all."""
    if pa.types.is_floating(column.type):
        whole = pc.equal(column, pc.floor(column))
        if pc.all(pc.fill_null(whole, True)).as_py():
            column = pc.cast(column, pa.int64())
    text = pc.utf8_trim_whitespace(pc.cast(column, pa.string()))
    given = pc.fill_null(pc.not_equal(text, ""), False)
    names = pc.unique(text).to_pylist()
    positions = []
    for name in names:
        if not name:
            positions.append(-1)
            continue
        try:
            # A spreadsheet may write an id column as 2.0.
            whole = name.removesuffix(".0") if whole_number(name.removesuffix(".0")) is not None else name
            positions.append(segment_position(model, whole))
        except UnknownSegment as exc:
            raise InvalidRequest(
                f"the target_segment column holds {safe_text(name, 60)!r}, which is no segment: {exc.message}"
            ) from None
    picks = pc.index_in(text, value_set=pa.array(names, pa.string()))
    lookup = np.array([*positions, -1], dtype=np.intp)
    index = pc.fill_null(picks, len(names)).to_numpy(zero_copy_only=False)
    return lookup[index], given.to_numpy(zero_copy_only=False)


def counterfactual_arrays(
    model: SegmentationModel, table: pa.Table, X: np.ndarray, good: np.ndarray, columns: Columns
) -> dict[str, pa.Array]:
    """The change_<feature> and reachable columns of one chunk: empty where a row is bad or names no target, and
    the changes empty where the target is out of reach."""
    n = table.num_rows
    if columns.target_position is not None:
        targets, wanted = np.full(n, columns.target_position, dtype=np.intp), good
    else:
        targets, given = _file_targets(model, table.column(columns.target_column))
        wanted = good & given
    rows = np.flatnonzero(wanted)
    found = counterfactuals(model, X[rows], targets[rows])
    reachable = np.zeros(n, dtype=bool)
    reachable[rows] = found.reachable
    arrays = {REACHABLE_COLUMN: pa.array(reachable, pa.bool_(), mask=~wanted)}
    for f, feature in enumerate(model.features):
        change = np.zeros(n)
        change[rows] = found.changes[:, f]
        arrays[f"{CHANGE_PREFIX}{feature}"] = pa.array(change, pa.float64(), mask=~reachable)
    return arrays
