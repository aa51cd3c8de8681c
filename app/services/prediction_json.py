"""A batch answer rendered straight to JSON bytes, column by column: the same bytes as orjson on the answer dicts.

Building 10,000 answer dicts (and orjson walking them) was most of a batch request's time. Here each column of the
model's scores is serialised once by orjson straight from its array and split into its items (numbers never hold a
comma), each segment's texts once per model, and the whole body is one join of every row's parts in the dicts' key
order, the constant parts between them included: no per-row formatting and no second copy of the body.
"""

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from typing import Any

import numpy as np
import orjson

from app.models.model import Scores, SegmentationModel


@dataclass(frozen=True, slots=True)
class _Fragments:
    """A model's pre-serialised parts of a prediction, in the order a row joins them."""

    segments: list  # the model's segment list these fragments were built from
    heads: list[bytes]  # per position: '{"segment_id":..,"segment_name":..,"description":..,..,"distance":'
    distance_keys: list[bytes]  # before each distance: ',"distances":{"<id>":', then ',"<id>":'
    runner_heads: list[bytes]  # per position: ',"runner_up":{"segment_id":..,"segment_name":..,"distance":'
    flags: tuple[bytes, bytes]  # after the runner-up, not atypical and atypical: ..',"is_atypical":false,..'
    version: bytes  # ',"model_version":"<version>"'


_CACHE: "weakref.WeakKeyDictionary[SegmentationModel, _Fragments]" = weakref.WeakKeyDictionary()


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def _fragments(model: SegmentationModel) -> _Fragments:
    """The model's fragments, built once per model object (an edited segment text comes with a new model)."""
    cached = _CACHE.get(model)
    if cached is not None and cached.segments is model.segments:
        return cached
    keys = [b"," + _dumps(key) + b":" for key in model.segment_keys]
    keys[0] = b',"distances":{' + keys[0][1:]
    # A one-segment model has no runner-up: the flags then close the distances and say so.
    after_runner_up = b"}" if model.n_clusters > 1 else b',"runner_up":null'
    fragments = _Fragments(
        segments=model.segments,
        heads=[
            b'{"segment_id":%b,"segment_name":%b,"description":%b,"marketing_strategy":%b,"distance":'
            % (_dumps(s.segment_id), _dumps(s.name), _dumps(s.description), _dumps(s.strategy))
            for s in model.segments
        ],
        distance_keys=keys,
        runner_heads=[
            b',"runner_up":{"segment_id":%b,"segment_name":%b,"distance":' % (_dumps(s.segment_id), _dumps(s.name))
            for s in model.segments
        ],
        flags=tuple(after_runner_up + b',"is_atypical":%b,"out_of_range":' % flag for flag in (b"false", b"true")),
        version=b',"model_version":' + _dumps(model.version),
    )
    _CACHE[model] = fragments
    return fragments


def _items(values: np.ndarray) -> list[bytes]:
    """Each number of an array, in C order, as orjson writes the same number as a Python float."""
    dumped = orjson.dumps(np.ascontiguousarray(values, dtype=np.float64).ravel(), option=orjson.OPT_SERIALIZE_NUMPY)
    return dumped[1:-1].split(b",") if len(dumped) > 2 else []


def _prefixed(prefix: bytes, values: np.ndarray) -> list[bytes]:
    """`prefix` and each number of an array as one part: half the parts the join walks, made by C's replace and
    split (a NUL never stands in JSON numbers or in the prefixes, which are keys and punctuation)."""
    dumped = orjson.dumps(np.ascontiguousarray(values, dtype=np.float64).ravel(), option=orjson.OPT_SERIALIZE_NUMPY)
    if len(dumped) <= 2:
        return []
    return (prefix + dumped[1:-1].replace(b",", b"\0" + prefix)).split(b"\0")


def render_batch(
    model: SegmentationModel,
    scores: Scores,
    *,
    out_of_range: dict[int, list[dict[str, Any]]],
    extras: Sequence[bytes] | None,
    segment_counts: list[dict[str, Any]],
) -> bytes:
    """The batch answer's JSON: the predictions in input order, the count, the counts per segment and the version.

    `out_of_range` holds the entries of the rows that have any, by index; `extras` each row's trailing members
    (',"explanation":...,"customer_id":...') when any row has some.
    """
    fragments = _fragments(model)
    k, n = model.n_clusters, len(scores)
    heads, flag_parts = fragments.heads, fragments.flags
    columns = [[heads[position] for position in scores.positions.tolist()], _items(scores.nearest)]
    for j, key in enumerate(fragments.distance_keys):
        columns.append(_prefixed(key, scores.distances[:, j]))
    columns.append(_prefixed(b'},"confidence":', scores.confidence))
    if k > 1:
        runner_heads = fragments.runner_heads
        columns += [
            [runner_heads[position] for position in scores.runner_up.tolist()],
            _items(scores.runner_up_distance),
        ]
    # Each row's flags, its out-of-range entries ("[]" for most rows) and, without extras, what closes the row and
    # the comma before the next: one part, as few parts as possible being what makes the join fast.
    close = fragments.version + (b"}," if extras is None else b"")
    common = [flag + b"[]" + close for flag in flag_parts]
    tails = [common[flag] for flag in scores.is_atypical.tolist()]
    for i, entries in out_of_range.items():
        tails[i] = flag_parts[bool(scores.is_atypical[i])] + _dumps(entries) + close
    if extras is None:
        if n:
            tails[-1] = tails[-1][:-1]
        columns.append(tails)
    else:
        columns += [tails, extras, chain(repeat(b"},", n - 1), (b"}",) if n else ())]
    head = b'{"predictions":['
    tail = b'],"count":%b,"segment_counts":%b,"model_version":%b}' % (
        _dumps(n),
        _dumps(segment_counts),
        _dumps(model.version),
    )
    return b"".join(chain((head,), chain.from_iterable(zip(*columns, strict=True)), (tail,)))
