"""The prediction log's rows as the request path builds them: one chunk per answered request, encoded for the writer.

Nothing here does I/O or needs SQLAlchemy: the CLI scores through this half and never opens a database.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from itertools import chain, repeat
from operator import attrgetter, getitem
from typing import Any, Protocol

import numpy as np

from app.models.model import Scores, SegmentationModel
from app.models.segmentations.spec import DEFAULT_NAME
from app.utils.moments import utc

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
        """The chunk as rows in `COLUMNS` order, inputs as lists of values (`prediction_log_insert` names them)."""
        return encode_rows([self], sqlite=sqlite)[1]

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


def encode_rows(chunks: Sequence[LogChunk], *, sqlite: bool, shared: tuple[str, ...] = ()) -> tuple[tuple, list[tuple]]:
    """The chunks' rows in `COLUMNS` order, and apart from them the values of the `shared` columns, ones every row
    has the same value of (bound once; only for one chunk, a request's).

    The writer bypasses SQLAlchemy's per-row type processing (about 50 us a row), and builds the rows a column at
    a time across all the chunks, joined by zip in C. It holds the GIL meanwhile, so every microsecond a row is
    taken from the requests: a 10,000-row batch takes 6.7 ms as a per-row loop and ~1 ms so; a single prediction
    8.8 us when encoded on its own and ~4 us among 2,000 others.
    """
    if shared and len(chunks) != 1:
        raise ValueError("shared columns are bound for one chunk at a time")
    columns = _columns(chunks, sqlite=sqlite)
    values = tuple(next(columns[name]) for name in COLUMNS if name in shared)
    # strict=False: the repeat() columns are endless; the others have a value a row.
    return values, list(zip(*(columns[name] for name in COLUMNS if name not in shared), strict=False))


def _columns(chunks: Sequence[LogChunk], *, sqlite: bool) -> dict[str, Any]:
    """Each column's values over the chunks' rows: an endless repeat() where every row has the same, else a list."""
    lengths = list(map(len, chunks))

    def of_chunks(field: str, convert: Any = None) -> Any:
        """A value a chunk (a request's), repeated over its rows."""
        values = list(map(attrgetter(field), chunks))
        if convert is not None:
            values = list(map(convert, values))
        # The same object in every chunk (one chunk's, a model's names): repeated. Equal values that are not the
        # same object make a list, which holds the same rows.
        if len(set(map(id, values))) == 1:
            return repeat(values[0])
        if lengths.count(1) == len(lengths):
            return values
        return list(chain.from_iterable(map(repeat, values, lengths)))

    def of_rows(field: str, convert: Callable[[list], list] = _flat) -> Any:
        """The chunks' per-row values one after the other; None in each row of a chunk without them."""
        values = list(map(attrgetter(field), chunks))
        # Not values.count(None): that compares numpy arrays with None element by element.
        absent = [value is None for value in values]
        if all(absent):
            return repeat(None)
        if any(absent):
            values = [[None] * n if value is None else value for value, n in zip(values, lengths, strict=True)]
        rows = convert(values)
        if len(rows) != sum(lengths):
            # Else one chunk's values would run into the next chunk's rows. Totals only: a check per chunk would
            # cost a loop over them, and every chunk is built by log_scores with its values counted.
            raise ValueError(f"{len(rows)} {field} for {sum(lengths)} rows")
        return rows

    segment_ids = of_rows("segment_ids")
    return {
        "created_at": of_chunks("created_at", _stamp if sqlite else utc),
        "model_version": of_chunks("model_version"),
        "inputs": of_rows("inputs"),
        "segment_id": segment_ids,
        "segment_name": map(getitem, of_chunks("segment_names"), segment_ids),
        "distance": of_rows("distances"),
        "confidence": of_rows("confidences"),
        "is_atypical": of_rows("atypical", _flat_bools),
        "out_of_range": of_rows("out_of_range", _flat_bools),
        "request_id": of_chunks("request_id"),
        "source": of_chunks("source"),
        "segmentation": of_chunks("segmentation"),
        "customer_id": of_rows("customer_ids", _customer_id_texts),
        "arm": of_chunks("arm"),
        "challenger_version": of_chunks("challenger_version"),
        "challenger_segment_id": of_rows("challenger_segment_ids"),
    }


def _flat(values: list) -> list:
    """Per-chunk lists or numpy arrays as one list of Python values (a chunk of one row holds plain lists)."""
    return list(chain.from_iterable(value.tolist() if isinstance(value, np.ndarray) else value for value in values))


def _flat_bools(values: list) -> list[bool]:
    return list(map(bool, _flat(values)))


def _customer_id_texts(values: list) -> list[str | None]:
    return list(chain.from_iterable(map(customer_id_texts, values)))


def _stamp(created_at: datetime) -> str:
    """The text SQLite's column holds: UTC, to the microsecond, without the offset (cut, which is cheaper)."""
    return utc(created_at).isoformat(" ", "microseconds")[:26]


def customer_id_texts(customer_ids: Any) -> list[str | None]:
    """Customer ids as the column holds them: text of at most 128 characters (`stored_id`), or None."""
    if _is_arrow(customer_ids):
        import pyarrow as pa
        import pyarrow.compute as pc

        texts = pc.utf8_slice_codeunits(pc.cast(customer_ids, pa.string()), 0, CUSTOMER_ID_LENGTH)
        return pc.replace_substring(texts, "\x00", NUL_STAND_IN).to_pylist()
    return [None if value is None else stored_id(value) for value in _as_list(customer_ids)]


# What a NUL in a file's customer id is stored as: PostgreSQL refuses text holding one, and the insert that carried
# it would fail for every row it held (up to WRITE_BATCH_ROWS predictions of other requests).
NUL_STAND_IN = "\ufffd"


def stored_id(customer_id: object) -> str:
    """A customer id as the log and the challenger's assignments store it: text, NUL replaced, cut to 128."""
    return str(customer_id).replace("\x00", NUL_STAND_IN)[:CUSTOMER_ID_LENGTH]


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
