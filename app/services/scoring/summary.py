"""What a scoring run saw: counts and profile per segment, bad rows per reason, flags, and a sample for the map."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from app.models.model import MAP_SAMPLE_SIZE, SegmentationModel
from app.services.scoring.columns import Columns
from app.services.scoring.options import ScoreOptions


@dataclass
class _Profile:
    """Running sums for one segment's profile."""

    count: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    mins: dict[str, float] = field(default_factory=dict)
    maxs: dict[str, float] = field(default_factory=dict)
    genders: dict[str, int] = field(default_factory=dict)


@dataclass
class ScoreSummary:
    """What a scoring run saw: counts and profile per segment, bad rows per reason, the model version."""

    model_version: str
    segments: list[tuple[int, str]]
    columns: dict[str, str | None] = field(default_factory=dict)
    delimiter: str = ","
    on_error: str = "flag"
    rows: int = 0
    scored: int = 0
    flagged: int = 0
    skipped: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    profiles: list[_Profile] = field(default_factory=list)
    # Scored customers flagged atypical, and values outside the training range per feature (the features that have
    # any): what the metrics count once the file has succeeded.
    atypical: int = 0
    out_of_range: dict[str, int] = field(default_factory=dict)
    # An RFM version's file was transactions: what building its customer table read, dropped and inferred.
    rfm: dict[str, Any] | None = None
    # The model's features in order: a map sample row is their values, then the segment position.
    features: tuple[str, ...] = ("annual_income", "spending_score")
    # Each segment's generated name, which metrics are labelled with (a renamed segment keeps its time series).
    metric_names: list[str] = field(default_factory=list)
    _sample_keys: np.ndarray = field(default_factory=lambda: np.empty(0))
    _sample_points: np.ndarray | None = None
    _rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))

    def __post_init__(self) -> None:
        if not self.profiles:
            self.profiles = [_Profile() for _ in self.segments]

    def add_error(self, reason: str, count: int = 1) -> None:
        """Count bad rows for one reason."""
        if count:
            self.errors[reason] = self.errors.get(reason, 0) + count

    def add_scored(self, positions: np.ndarray, values: dict[str, np.ndarray], genders: pa.Array | None) -> None:
        """Fold one chunk of scored rows into the counts, profiles and map sample."""
        self.scored += len(positions)
        if not len(positions):
            return
        k = len(self.profiles)
        for pos, count in enumerate(np.bincount(positions, minlength=k).tolist()):
            self.profiles[pos].count += count
        for name, column in values.items():
            ok = np.isfinite(column)
            # Usually every value is known: the arrays as they are, rather than copies through a mask.
            where, known = (positions, column) if ok.all() else (positions[ok], column[ok])
            counts = np.bincount(where, minlength=k).tolist()
            sums = np.bincount(where, weights=known, minlength=k).tolist()
            lows, highs = np.full(k, np.inf), np.full(k, -np.inf)
            np.minimum.at(lows, where, known)  # unbuffered per-segment min and max: no mask per segment
            np.maximum.at(highs, where, known)
            for pos, profile in enumerate(self.profiles):
                if not counts[pos]:
                    continue
                profile.sums[name] = profile.sums.get(name, 0.0) + sums[pos]
                profile.counts[name] = profile.counts.get(name, 0) + counts[pos]
                profile.mins[name] = min(profile.mins.get(name, np.inf), float(lows[pos]))
                profile.maxs[name] = max(profile.maxs.get(name, -np.inf), float(highs[pos]))
        if genders is not None:
            # Dictionary-encode the raw labels, count (segment, label) pairs with one bincount, and tidy only the
            # few distinct labels: "female " and "Female" fold into one key below.
            encoded = pc.dictionary_encode(genders).combine_chunks()
            labels = [label.strip().capitalize() for label in encoded.dictionary.to_pylist()]
            pairs = positions.astype(np.int64) * len(labels) + encoded.indices.to_numpy(zero_copy_only=False)
            counted = np.bincount(pairs, minlength=k * len(labels)).reshape(k, len(labels)).tolist()
            for pos, profile in enumerate(self.profiles):
                for label, count in zip(labels, counted[pos], strict=True):
                    if count:
                        key = label or "Unknown"
                        profile.genders[key] = profile.genders.get(key, 0) + count
        self._add_sample(positions, values)

    def add_flags(self, features: Sequence[str], is_atypical: np.ndarray, out_of_range: np.ndarray) -> None:
        """Count one chunk's atypical customers and its values outside the training range, per feature."""
        self.atypical += int(np.count_nonzero(is_atypical))
        if out_of_range.any():
            for feature, count in zip(features, np.count_nonzero(out_of_range, axis=0).tolist(), strict=True):
                if count:
                    self.out_of_range[feature] = self.out_of_range.get(feature, 0) + count

    def _add_sample(self, positions: np.ndarray, values: dict[str, np.ndarray]) -> None:
        # A uniform sample of the whole file: every row gets a random key and the smallest keys stay.
        if not all(name in values for name in self.features):
            return
        keys = self._rng.random(len(positions))
        points = np.column_stack([*(values[name] for name in self.features), positions])
        if len(keys) > MAP_SAMPLE_SIZE:
            chosen = np.argpartition(keys, MAP_SAMPLE_SIZE)[:MAP_SAMPLE_SIZE]
            keys, points = keys[chosen], points[chosen]
        self._merge_sample(keys, points)

    def _merge_sample(self, keys: np.ndarray, points: np.ndarray | None) -> None:
        if points is None:
            return
        keys = np.concatenate([self._sample_keys, keys])
        points = points if self._sample_points is None else np.concatenate([self._sample_points, points])
        if len(keys) > MAP_SAMPLE_SIZE:
            chosen = np.argpartition(keys, MAP_SAMPLE_SIZE)[:MAP_SAMPLE_SIZE]
            keys, points = keys[chosen], points[chosen]
        self._sample_keys, self._sample_points = keys, points

    @property
    def sample(self) -> list[tuple[float, ...]]:
        """A uniform random sample of scored customers for the map: the features' values, then the segment position."""
        if self._sample_points is None:
            return []
        return [(*row[:-1], int(row[-1])) for row in self._sample_points.tolist()]

    def merge(self, other: "ScoreSummary") -> "ScoreSummary":
        """Add another run's counts (a Dask partition's) to this one."""
        self.rows += other.rows
        self.scored += other.scored
        self.flagged += other.flagged
        self.skipped += other.skipped
        for reason, count in other.errors.items():
            self.add_error(reason, count)
        self.atypical += other.atypical
        for feature, count in other.out_of_range.items():
            self.out_of_range[feature] = self.out_of_range.get(feature, 0) + count
        for mine, theirs in zip(self.profiles, other.profiles, strict=True):
            mine.count += theirs.count
            for name in theirs.sums:
                mine.sums[name] = mine.sums.get(name, 0.0) + theirs.sums[name]
                mine.counts[name] = mine.counts.get(name, 0) + theirs.counts[name]
                mine.mins[name] = min(mine.mins.get(name, np.inf), theirs.mins[name])
                mine.maxs[name] = max(mine.maxs.get(name, -np.inf), theirs.maxs[name])
            for key, count in theirs.genders.items():
                mine.genders[key] = mine.genders.get(key, 0) + count
        self._merge_sample(other._sample_keys, other._sample_points)
        return self

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data (the map sample is left out)."""
        segments = []
        for (segment_id, name), profile in zip(self.segments, self.profiles, strict=True):
            stats = {
                feature: {
                    "mean": profile.sums[feature] / profile.counts[feature],
                    "min": profile.mins[feature],
                    "max": profile.maxs[feature],
                }
                for feature in profile.sums
            }
            total_gender = sum(profile.genders.values())
            segments.append(
                {
                    "segment_id": segment_id,
                    "segment_name": name,
                    "count": profile.count,
                    "share": profile.count / self.scored if self.scored else 0.0,
                    "profile": stats,
                    "gender": {key: value / total_gender for key, value in sorted(profile.genders.items())}
                    if total_gender
                    else None,
                }
            )
        return {
            "model_version": self.model_version,
            "rows": self.rows,
            "scored": self.scored,
            "flagged": self.flagged,
            "skipped": self.skipped,
            "bad_rows": sum(self.errors.values()),
            "errors": dict(sorted(self.errors.items())),
            "on_error": self.on_error,
            "delimiter": self.delimiter,
            "columns": self.columns,
            "segments": segments,
            **({"transactions": self.rfm} if self.rfm is not None else {}),
        }


def new_summary(model: SegmentationModel, columns: Columns, options: ScoreOptions, *, delimiter: str) -> ScoreSummary:
    """An empty summary for one run."""
    return ScoreSummary(
        model_version=model.version,
        segments=[(segment.segment_id, segment.name) for segment in model.segments],
        columns={
            **columns.features,
            "customer_id": columns.customer_id,
            "age": columns.age,
            "gender": columns.gender,
        },
        delimiter=delimiter,
        on_error=options.on_error,
        features=tuple(model.features),
        metric_names=[segment.metric_name for segment in model.segments],
    )
