"""A batch answer rendered straight to JSON bytes, column by column: the same bytes as orjson on the answer dicts.

Building 10,000 answer dicts (and orjson walking them) was most of a batch request's time. Here every column of the
model's scores is serialised once by orjson as a list and split into its items (numbers never hold a comma), each
segment's texts are serialised once per model, and one bytes template per row joins them in the dicts' key order.
"""

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np
import orjson

from app.models.model import Scores, SegmentationModel


@dataclass(frozen=True, slots=True)
class _Fragments:
    """A model's pre-serialised parts of a prediction."""

    segments: list  # the model's segment list these fragments were built from
    heads: list[bytes]  # per position: '{"segment_id":..,"segment_name":..,"description":..,"marketing_strategy":..,'
    runner_heads: list[bytes]  # per position: '{"segment_id":..,"segment_name":..,"distance":'
    row: bytes  # the row template (bytes %-format)


_CACHE: "weakref.WeakKeyDictionary[SegmentationModel, _Fragments]" = weakref.WeakKeyDictionary()


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def _fragments(model: SegmentationModel) -> _Fragments:
    """The model's fragments, built once per model object (an edited segment text comes with a new model)."""
    cached = _CACHE.get(model)
    if cached is not None and cached.segments is model.segments:
        return cached
    heads = [
        b'{"segment_id":%b,"segment_name":%b,"description":%b,"marketing_strategy":%b,'
        % (_dumps(s.segment_id), _dumps(s.name), _dumps(s.description), _dumps(s.strategy))
        for s in model.segments
    ]
    runner_heads = [
        b'{"segment_id":%b,"segment_name":%b,"distance":' % (_dumps(s.segment_id), _dumps(s.name))
        for s in model.segments
    ]
    # Keys are segment ids (digits): nothing in them for %-format to read.
    distances = b",".join(_dumps(key) + b":%b" for key in model.segment_keys)
    runner_up = b"%b%b}" if model.n_clusters > 1 else b"null%b%b"
    row = (
        b'%b"distance":%b,"distances":{'
        + distances
        + b'},"confidence":%b,"runner_up":'
        + runner_up
        + b',"is_atypical":%b,"out_of_range":%b,"model_version":'
        + _dumps(model.version).replace(b"%", b"%%")
        + b"%b}"
    )
    fragments = _Fragments(model.segments, heads, runner_heads, row)
    _CACHE[model] = fragments
    return fragments


def _items(values: np.ndarray) -> list[bytes]:
    """Each number of a 1-d array (or every cell of a 2-d one, row by row) as orjson writes it."""
    dumped = orjson.dumps(values.ravel().tolist())
    return dumped[1:-1].split(b",") if len(dumped) > 2 else []


def render_rows(
    model: SegmentationModel,
    scores: Scores,
    *,
    out_of_range: dict[int, list[dict[str, Any]]],
    extras: Sequence[bytes] | None = None,
) -> bytes:
    """The predictions as JSON items joined by commas, in input order.

    `out_of_range` holds the entries of the rows that have any, by index; `extras` each row's trailing members
    (',"explanation":...,"customer_id":...') when any row has some.
    """
    fragments = _fragments(model)
    k, n = model.n_clusters, len(scores)
    positions = scores.positions.tolist()
    cells = _items(scores.distances)
    out = [b"[]"] * n
    for i, flags in out_of_range.items():
        out[i] = _dumps(flags)
    if k > 1:
        runner_heads = fragments.runner_heads
        runner = [runner_heads[position] for position in scores.runner_up.tolist()]
        runner_distance = _items(scores.runner_up_distance)
    else:
        runner, runner_distance = repeat(b"", n), repeat(b"", n)  # type: ignore[assignment]
    heads = fragments.heads
    columns = (
        [heads[position] for position in positions],
        _items(scores.nearest),
        *(cells[j::k] for j in range(k)),
        _items(scores.confidence),
        runner,
        runner_distance,
        [b"true" if flag else b"false" for flag in scores.is_atypical.tolist()],
        out,
        repeat(b"", n) if extras is None else extras,
    )
    row = fragments.row
    return b",".join([row % values for values in zip(*columns, strict=True)])


def batch_body(rows: bytes, *, count: int, segment_counts: list[dict[str, Any]], version: str) -> bytes:
    """The batch answer's JSON: the rendered predictions, the count, the counts per segment and the version."""
    return b"".join(
        (
            b'{"predictions":[',
            rows,
            b'],"count":',
            _dumps(count),
            b',"segment_counts":',
            _dumps(segment_counts),
            b',"model_version":',
            _dumps(version),
            b"}",
        )
    )
