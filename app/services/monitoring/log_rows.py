"""The prediction log's rows as the request path builds them: one chunk per answered request, encoded for the writer.

Nothing here does I/O or needs SQLAlchemy: the CLI scores through this half and never opens a database.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from itertools import repeat
from typing import Any, Protocol

import numpy as np

from app.models.model import Scores, SegmentationModel
from app.models.segmentations.spec import DEFAULT_NAME

# A row's columns, in the order `LogChunk.tuples` gives them.
COLUMNS = (
    "created_at",
    "model_version",
    "inputs",
    "segment_id",
    "segment_name",
    "distance",
    "confidence",
    "is_atypical",
    "out_of_range",
    "request_id",
    "source",
    "segmentation",
    "customer_id",
    "arm",
    "challenger_version",
    "challenger_segment_id",
)
# Columns every row of a chunk shares (one request's): a large chunk binds them once, not in each row.
SHARED_COLUMNS = ("created_at", "model_version", "request_id", "source", "segmentation", "arm", "challenger_version")
# Longer customer ids are cut to the column's length: the log keeps what it can rather than losing the row.
CUSTOMER_ID_LENGTH = 128


class ChunkSink(Protocol):
    """Where `log_scores` hands a chunk: the log writer, or a scored file's spool standing in for it."""

    def sampled(self) -> bool:
        """Whether one prediction is to be logged."""
        ...

    def submit(self, chunk: "LogChunk") -> None:
        """Take a chunk of rows."""
        ...


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which doubles the cost of queueing
# a single prediction.
@dataclass(slots=True)
class LogChunk:
    """Predictions answered by one request; per-row fields are lists or numpy arrays of equal length."""

    created_at: datetime
    model_version: str
    features: tuple[str, ...]
    inputs: Any  # rows of feature values, shape (n, n_features)
    segment_ids: Any
    distances: Any
    confidences: Any
    atypical: Any
    out_of_range: Any
    segment_names: Mapping[int, str]
    request_id: str | None
    source: str
    segmentation: str = DEFAULT_NAME
    # Per row: the caller's id or None (a list, or a scored file's id column as Arrow, which holds it compactly);
    # None for the whole chunk when none was given.
    customer_ids: Any = None
    # With a challenger set: which arm served these rows, and in shadow mode the challenger's version and segment
    # id of each row (None otherwise).
    arm: str | None = None
    challenger_version: str | None = None
    challenger_segment_ids: Any = None

    def __len__(self) -> int:
        return len(self.segment_ids)

    def rows(self) -> list[dict[str, Any]]:
        """The chunk as parameter rows for SQLAlchemy's `insert()` (inputs as dicts; for tests and small writes)."""
        rows = [dict(zip(COLUMNS, values, strict=True)) for values in self.tuples(sqlite=False)]
        for row in rows:
            row["inputs"] = dict(zip(self.features, row["inputs"], strict=True))
        return rows

    def tuples(self, *, sqlite: bool) -> list[tuple]:
        """The chunk as rows in `COLUMNS` order, inputs as lists of feature values (`_insert_statement` names them).

        The writer bypasses SQLAlchemy's per-row type processing (about 50 us a row): a 10,000-row batch is
        encoded here in about a millisecond, so logging stays cheap next to the prediction it records.
        """
        return self.encoded(sqlite=sqlite)[1]

    def encoded(self, *, sqlite: bool, shared: tuple[str, ...] = ()) -> tuple[tuple, list[tuple]]:
        """The `shared` columns' values and the rows without them, both in `COLUMNS` order (the statement's)."""
        columns = self._columns(sqlite=sqlite)
        values = tuple(next(columns[name]) for name in COLUMNS if name in shared)
        # Column by column, joined by zip in C: this runs on the writer thread while holding the GIL, so every
        # microsecond per row is taken from the requests (a 10,000-row batch: 6.7 ms as a per-row loop).
        # strict=False: the repeat() columns are endless; the per-row ones have the chunk's length.
        return values, list(zip(*(columns[name] for name in COLUMNS if name not in shared), strict=False))

    def _columns(self, *, sqlite: bool) -> dict[str, Any]:
        """Each column's values: an endless repeat() where the whole chunk shares one, else one a row."""
        created_at = self.created_at.astimezone(UTC)
        stamp: Any = created_at.replace(tzinfo=None).isoformat(" ", "microseconds") if sqlite else created_at
        segment_ids = _as_list(self.segment_ids)
        return {
            "created_at": repeat(stamp),
            "model_version": repeat(self.model_version),
            "inputs": _as_list(self.inputs),
            "segment_id": segment_ids,
            "segment_name": map(self.segment_names.__getitem__, segment_ids),
            "distance": _as_list(self.distances),
            "confidence": _as_list(self.confidences),
            "is_atypical": _as_bools(self.atypical),
            "out_of_range": _as_bools(self.out_of_range),
            "request_id": repeat(self.request_id),
            "source": repeat(self.source),
            "segmentation": repeat(self.segmentation),
            "customer_id": repeat(None) if self.customer_ids is None else customer_id_texts(self.customer_ids),
            "arm": repeat(self.arm),
            "challenger_version": repeat(self.challenger_version),
            "challenger_segment_id": (
                repeat(None) if self.challenger_segment_ids is None else _as_list(self.challenger_segment_ids)
            ),
        }

    def subset(self, mask: np.ndarray) -> "LogChunk":
        """Only the rows where `mask` is true."""

        def pick(values: Any) -> np.ndarray:
            return np.asarray(values)[mask]

        return LogChunk(
            self.created_at,
            self.model_version,
            self.features,
            pick(self.inputs),
            pick(self.segment_ids),
            pick(self.distances),
            pick(self.confidences),
            pick(self.atypical),
            pick(self.out_of_range),
            self.segment_names,
            self.request_id,
            self.source,
            self.segmentation,
            None if self.customer_ids is None else _pick_ids(self.customer_ids, mask),
            self.arm,
            self.challenger_version,
            None if self.challenger_segment_ids is None else pick(self.challenger_segment_ids),
        )


@lru_cache(maxsize=16)
def _segment_lookup(model: SegmentationModel) -> tuple[tuple[str, ...], list[int], dict[int, str]]:
    """Feature names, segment ids by position and names by id, built once per model rather than per request."""
    return tuple(model.features), [s.segment_id for s in model.segments], {s.segment_id: s.name for s in model.segments}


def log_scores(
    writer: ChunkSink | None,
    model: SegmentationModel,
    X: np.ndarray | Sequence[Sequence[float]],
    scores: Scores,
    *,
    request_id: str | None,
    source: str,
    segmentation: str = DEFAULT_NAME,
    customer_ids: Sequence[object] | None = None,
    arm: str | None = None,
    shadow: tuple[str, Any] | None = None,
) -> None:
    """Queue answered predictions (X: their rows of feature values) for the log; a no-op when off.

    `customer_ids` are the caller's ids, one per row (None where a row has none). `arm` names the arm that served
    them when a challenger is set; `shadow` is the shadow challenger's (version, segment id of each row). No I/O
    here: the writer thread does that.
    """
    if customer_ids is not None and len(customer_ids) != len(X):
        raise ValueError(f"{len(customer_ids)} customer ids for {len(X)} predictions")
    if writer is None or (len(X) == 1 and not writer.sampled()):
        return
    features, ids, names = _segment_lookup(model)
    if len(X) == 1:
        # One row: plain lists, since numpy costs more per call than the whole row.
        position = scores.positions.item()
        per_row: tuple = (
            _as_list(X),
            [ids[position]],
            [scores.nearest.item()],
            [scores.confidence.item()],
            [bool(scores.is_atypical.item())],
            [scores.any_out_of_range.item()],
        )
    else:
        per_row = (
            X,
            np.array(ids)[scores.positions],
            scores.nearest,
            scores.confidence,
            scores.is_atypical,
            scores.any_out_of_range,
        )
    chunk = LogChunk(
        datetime.now(UTC), model.version, features, *per_row, names, request_id, source, segmentation, customer_ids
    )
    if arm is not None:
        chunk.arm = arm
        if shadow is not None:
            chunk.challenger_version, chunk.challenger_segment_ids = shadow
    writer.submit(chunk)


def customer_id_texts(customer_ids: Any) -> list[str | None]:
    """Customer ids as the column holds them: text of at most 128 characters, or None."""
    if _is_arrow(customer_ids):
        import pyarrow as pa
        import pyarrow.compute as pc

        texts = pc.utf8_slice_codeunits(pc.cast(customer_ids, pa.string()), 0, CUSTOMER_ID_LENGTH)
        return texts.to_pylist()
    return [None if value is None else str(value)[:CUSTOMER_ID_LENGTH] for value in _as_list(customer_ids)]


def _is_arrow(values: Any) -> bool:
    """Whether ids are an Arrow column (a scored file's): told without importing pyarrow, which serving never needs."""
    return type(values).__module__.startswith("pyarrow")


def _pick_ids(customer_ids: Any, mask: np.ndarray) -> Any:
    if _is_arrow(customer_ids):
        import pyarrow as pa

        return customer_ids.filter(pa.array(mask))
    return np.asarray(customer_ids, dtype=object)[mask]


def _as_list(values: Any) -> list:
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def _as_bools(values: Any) -> list[bool]:
    return values.astype(bool).tolist() if isinstance(values, np.ndarray) else [bool(value) for value in values]
