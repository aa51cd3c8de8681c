"""Score a whole customer file in chunks: one function behind the API, the web page, the CLI and Dask."""

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from app.core import metrics
from app.core.errors import InvalidRequest, no_space_as
from app.models.features import FEATURES, normalise_column, wanted_columns
from app.models.model import MAP_SAMPLE_SIZE, Scores, SegmentationModel
from app.services.csv_text import HEAD_BYTES, decode_head
from app.services.monitoring.prediction_log import PredictionLogWriter, log_scores
from app.services.prediction import record_scores
from app.utils.files import atomic_replace
from app.utils.numbers import DECIMAL
from app.utils.text import safe_text

# Arrow's default pool (mimalloc) keeps freed chunk buffers for reuse; the system allocator hands them back, which
# lowered the CLI's peak RSS on a 2M-row file from ~265 to ~225 MB at the same speed, and keeps a server's memory
# after a large upload near where it was. This module is the only user of Arrow in the process.
pa.set_memory_pool(pa.system_memory_pool())

OnError = Literal["flag", "skip", "reject"]
ON_ERROR_POLICIES: tuple[str, ...] = ("flag", "skip", "reject")
DELIMITERS: tuple[str, ...] = (",", ";")
SCORE_COLUMNS: tuple[str, ...] = ("segment_id", "segment_name", "confidence", "distance", "is_atypical", "out_of_range")
ERROR_COLUMN = "error"
# Peak memory follows the chunk: 16k rows keep the CLI's peak under a quarter of a whole-file pandas script's at
# 5M rows, and larger chunks gained little speed (benchmarks/run.py, "CLI score").
DEFAULT_CHUNK_ROWS = 16_384
# Arrow's CSV reader reads ahead about 40 blocks: 128 KiB blocks hold ~5 MB where 1 MB blocks held ~40 MB, at the
# same speed. Blocks are joined into chunk_rows-row chunks for scoring.
READ_BLOCK_BYTES = 128 * 1024
NO_SPACE_FOR_OUTPUT = "no space left on the server for the labelled file; nothing was kept, try again later"
# Messages quote a header's names: cut, so a file of thousand-character names still gets a readable answer.
NAMES_QUOTED = 20
NAME_QUOTED_CHARS = 60
_MALFORMED = "wrong number of fields"
# A decimal number as people write it (no thousands separators); "inf" and "nan" are not customers' values.
_NUMBER = f"^{DECIMAL}$"


@dataclass(frozen=True)
class ScoreOptions:
    """How to read a customer file and what to do with its bad rows."""

    on_error: OnError = "flag"
    delimiter: str | None = None  # None: sniffed from the header line
    income_column: str | None = None
    spending_column: str | None = None
    id_column: str | None = None
    chunk_rows: int = DEFAULT_CHUNK_ROWS

    def __post_init__(self) -> None:
        if self.on_error not in ON_ERROR_POLICIES:
            raise InvalidRequest(f"on_error must be one of {', '.join(ON_ERROR_POLICIES)}, got '{self.on_error}'")
        if self.delimiter is not None and self.delimiter not in DELIMITERS:
            raise InvalidRequest(f"delimiter must be ',' or ';', got '{self.delimiter}'")
        if self.chunk_rows < 1:
            raise InvalidRequest("chunk_rows must be at least 1")


@dataclass(frozen=True)
class Columns:
    """Which input column holds each thing the scorer reads (None when the file does not have it)."""

    names: list[str]
    features: dict[str, str]  # model feature -> input column
    customer_id: str | None = None
    age: str | None = None
    gender: str | None = None

    def output_names(self, on_error: str) -> list[str]:
        """The output header: every input column, then the score columns (and `error` when flagging)."""
        return [*self.names, *SCORE_COLUMNS, *([ERROR_COLUMN] if on_error == "flag" else [])]


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
    _sample_keys: np.ndarray = field(default_factory=lambda: np.empty(0))
    _sample_points: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))
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
            where, known = positions[ok], column[ok]
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

    def _add_sample(self, positions: np.ndarray, values: dict[str, np.ndarray]) -> None:
        # A uniform sample of the whole file: every row gets a random key and the smallest keys stay.
        if "annual_income" not in values or "spending_score" not in values:
            return
        keys = self._rng.random(len(positions))
        points = np.column_stack([values["annual_income"], values["spending_score"], positions])
        if len(keys) > MAP_SAMPLE_SIZE:
            chosen = np.argpartition(keys, MAP_SAMPLE_SIZE)[:MAP_SAMPLE_SIZE]
            keys, points = keys[chosen], points[chosen]
        self._merge_sample(keys, points)

    def _merge_sample(self, keys: np.ndarray, points: np.ndarray) -> None:
        keys = np.concatenate([self._sample_keys, keys])
        points = np.concatenate([self._sample_points, points])
        if len(keys) > MAP_SAMPLE_SIZE:
            chosen = np.argpartition(keys, MAP_SAMPLE_SIZE)[:MAP_SAMPLE_SIZE]
            keys, points = keys[chosen], points[chosen]
        self._sample_keys, self._sample_points = keys, points

    @property
    def sample(self) -> list[tuple[float, float, int]]:
        """A uniform random sample of scored customers for the map: (income, spending, segment position)."""
        return [(float(x), float(y), int(p)) for x, y, p in self._sample_points.tolist()]

    def merge(self, other: "ScoreSummary") -> "ScoreSummary":
        """Add another run's counts (a Dask partition's) to this one."""
        self.rows += other.rows
        self.scored += other.scored
        self.flagged += other.flagged
        self.skipped += other.skipped
        for reason, count in other.errors.items():
            self.add_error(reason, count)
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
        }


def quoted_names(names: list[str]) -> str:
    """Column names for a message: each quoted and cut short, at most NAMES_QUOTED of them."""
    shown = ", ".join(f"'{safe_text(name, NAME_QUOTED_CHARS)}'" for name in names[:NAMES_QUOTED]) or "none"
    return shown + (f" and {len(names) - NAMES_QUOTED} more" if len(names) > NAMES_QUOTED else "")


def resolve_columns(model: SegmentationModel, names: list[str], options: ScoreOptions) -> Columns:
    """Find the model's features (and id, age, gender) in a header, or say which columns are missing."""
    found = quoted_names(names)
    if not names or all(not name.strip() for name in names):
        raise InvalidRequest("the file has no header row; the first line must name the columns")
    scored = [name for name in names if name in (*SCORE_COLUMNS, ERROR_COLUMN)]
    if scored:
        raise InvalidRequest(
            f"the file already has the output column(s) {', '.join(scored)}: it looks scored already; "
            "remove or rename them"
        )
    duplicated = sorted({name for name in names if names.count(name) > 1})
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
    for feature in model.features:
        column = explicit.get(feature) or by_normal.get(feature)
        if column is None:
            missing.append(feature)
        else:
            features[feature] = column
    if missing:
        raise InvalidRequest(
            f"missing column(s) {wanted_columns(missing)}, or name them with income_column= and spending_column=; "
            f"found: {found}"
        )
    return Columns(
        names=list(names),
        features=features,
        customer_id=options.id_column or by_normal.get("customer_id"),
        age=by_normal.get("age") if "age" not in features else features["age"],
        gender=by_normal.get("gender"),
    )


def _numbers(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Column values as floats (NaN where unusable) and a mask of the empty ones."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        try:  # the common case: every value is a plain number
            values = pc.cast(column, pa.float64())
            return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64), np.zeros(len(column), bool)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        trimmed = pc.utf8_trim_whitespace(column)
        empty = pc.equal(pc.utf8_length(trimmed), 0)
        # Some text is not a number: keep only what looks like one (the rest becomes NaN, "not a number").
        number = pc.match_substring_regex(trimmed, _NUMBER)
        values = pc.cast(pc.if_else(number, trimmed, pa.scalar(None, column.type)), pa.float64())
        empty_mask = np.asarray(empty.to_numpy(zero_copy_only=False), dtype=bool)
    else:
        values = pc.cast(column, pa.float64())
        empty_mask = np.asarray(pc.is_null(values).to_numpy(zero_copy_only=False), dtype=bool)
    return np.asarray(pc.fill_null(values, np.nan).to_numpy(zero_copy_only=False), dtype=np.float64), empty_mask


def _validate(model: SegmentationModel, table: pa.Table, columns: Columns) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The feature matrix, each row's first problem as a code (0 when the row is fine), and the codes' texts."""
    n = table.num_rows
    X = np.empty((n, len(model.features)), dtype=np.float64)
    codes = np.zeros(n, dtype=np.int8)  # small integers: comparing texts row by row is slow
    reasons = [""]
    for f, feature in enumerate(model.features):
        values, empty = _numbers(table.column(columns.features[feature]))
        X[:, f] = values
        # The values the API accepts; a model feature the project does not know is only checked for being a number.
        known = FEATURES.get(feature)
        low, high = (known.minimum, known.maximum) if known else (-np.inf, np.inf)
        not_number = ~empty & ~np.isfinite(values)
        with np.errstate(invalid="ignore"):
            out = np.isfinite(values) & ((values < low) | (values > high))
        for mask, reason in (
            (empty, f"missing {feature}"),
            (not_number, f"{feature} is not a number"),
            (out, f"{feature} out of range ({low:g} to {high:g})"),
        ):
            if mask.any():
                reasons.append(reason)
                codes[mask & (codes == 0)] = len(reasons) - 1
    return X, codes, reasons


def score_table(
    model: SegmentationModel,
    table: pa.Table,
    *,
    columns: Columns,
    options: ScoreOptions,
    summary: ScoreSummary,
    first_line: int = 1,
    malformed_lines: list[int] | None = None,
    unit: str = "row",
    log: PredictionLogWriter | None = None,
    request_id: str | None = None,
) -> pa.Table:
    """Score one chunk: the input columns unchanged, then the score columns; bad rows per the policy.

    `first_line` numbers the chunk's first row in the file; `malformed_lines` are lines the reader could not
    split into the header's fields (already left out of `table`), counted here like every other bad row.
    The chunk's scored rows go to the prediction log `log` (when given) as one queued chunk.
    """
    malformed = sorted(malformed_lines or [])
    X, codes, reasons = _validate(model, table, columns)
    summary.rows += table.num_rows + len(malformed)
    bad = codes != 0
    if options.on_error == "reject" and (bad.any() or malformed):
        rejected = [(line, _MALFORMED) for line in malformed[:1]]
        if bad.any():
            row = int(np.argmax(bad))
            line = first_line + row
            for skipped in malformed:  # lines the reader skipped come before this row in the file
                line += skipped <= line
            rejected.append((line, reasons[codes[row]]))
        line, reason = min(rejected)
        raise InvalidRequest(
            f"{unit} {line} is not usable: {reason}; fix it, or score with on_error=flag or on_error=skip"
        )
    summary.add_error(_MALFORMED, len(malformed))
    summary.skipped += len(malformed)
    if bad.any():
        for code, count in enumerate(np.bincount(codes, minlength=len(reasons)).tolist()[1:], start=1):
            summary.add_error(reasons[code], count)
        if options.on_error == "skip":
            summary.skipped += int(bad.sum())
            keep = ~bad
            table, X, codes, bad = table.filter(pa.array(keep)), X[keep], codes[keep], bad[keep]
        else:
            summary.flagged += int(bad.sum())
    good = ~bad
    scored = X[good]
    scores = model.score(scored)
    record_scores(model, scores, source="csv", chunk=True)
    log_scores(log, model, scored, scores, request_id=request_id, source="csv")
    all_good = not bad.any()
    values = {feature: X[:, f] if all_good else X[good, f] for f, feature in enumerate(model.features)}
    if columns.age is not None and "age" not in values:
        ages = _numbers(table.column(columns.age))[0]
        values["age"] = ages if all_good else ages[good]
    genders = None
    if columns.gender is not None:
        genders = table.column(columns.gender)
        genders = genders if good.all() else genders.filter(pa.array(good))
        genders = pc.cast(genders, pa.string())
    summary.add_scored(scores.positions, values, genders)
    errors = pc.take(pa.array(reasons, pa.string()), pa.array(codes)) if options.on_error == "flag" else None
    return _with_scores(model, table, scores, good, errors)


def _with_scores(
    model: SegmentationModel, table: pa.Table, scores: Scores, good: np.ndarray, errors: pa.Array | None
) -> pa.Table:
    n = table.num_rows
    all_good = bool(good.all())
    mask = None if all_good else ~good

    def full(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
        if all_good:
            return values
        out = np.zeros(n, dtype=dtype)
        out[good] = values
        return out

    ids = np.array([segment.segment_id for segment in model.segments], dtype=np.int64)
    names = pa.array([segment.name for segment in model.segments], pa.string())
    positions = full(scores.positions.astype(np.int32), np.int32)
    new = {
        "segment_id": pa.array(full(ids[scores.positions], np.int64), pa.int64(), mask=mask),
        "segment_name": pc.take(names, pa.array(positions, pa.int32(), mask=mask)),
        "confidence": pa.array(full(scores.confidence, np.float64), pa.float64(), mask=mask),
        "distance": pa.array(full(scores.nearest, np.float64), pa.float64(), mask=mask),
        "is_atypical": pa.array(full(scores.is_atypical, bool), pa.bool_(), mask=mask),
        "out_of_range": pa.array(full(scores.any_out_of_range, bool), pa.bool_(), mask=mask),
    }
    if errors is not None:
        new[ERROR_COLUMN] = errors
    for name, array in new.items():
        table = table.append_column(name, array)
    return table


def output_schema(columns: Columns, options: ScoreOptions, input_schema: pa.Schema) -> pa.Schema:
    """The schema of every scored chunk (used for an empty file and for Parquet writers)."""
    extra = [
        pa.field("segment_id", pa.int64()),
        pa.field("segment_name", pa.string()),
        pa.field("confidence", pa.float64()),
        pa.field("distance", pa.float64()),
        pa.field("is_atypical", pa.bool_()),
        pa.field("out_of_range", pa.bool_()),
    ]
    if options.on_error == "flag":
        extra.append(pa.field(ERROR_COLUMN, pa.string()))
    return pa.schema([*input_schema, *extra])


def score_batches(
    model: SegmentationModel,
    batches: Iterable[pa.RecordBatch | pa.Table],
    *,
    columns: Columns,
    options: ScoreOptions,
    summary: ScoreSummary,
) -> Iterator[pa.Table]:
    """Score a stream of chunks (Parquet row groups, data frames) in order, one output table per chunk."""
    first_row = 1
    for batch in batches:
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        yield score_table(model, table, columns=columns, options=options, summary=summary, first_line=first_row)
        first_row += table.num_rows


# --- CSV text ---------------------------------------------------------------------------------------


def _quote(column: pa.Array, delimiter: str) -> pa.Array:
    """Quote the values that need it, as the csv module's QUOTE_MINIMAL does."""
    data = column.buffers()[2]
    if data is None:
        return column
    raw = data.to_pybytes()
    if delimiter.encode() not in raw and b'"' not in raw and b"\n" not in raw and b"\r" not in raw:
        return column
    needs = pc.match_substring_regex(column, f'[{delimiter}"\r\n]')
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(column, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, column)


def csv_text_columns(table: pa.Table) -> list[pa.Array]:
    """Every column as text: empty for nulls, `true`/`false` for booleans, shortest round-trip floats."""
    out = []
    for column in table.columns:
        column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        if not pa.types.is_string(column.type):
            column = pc.cast(column, pa.string())
        out.append(pc.fill_null(column, ""))
    return out


def csv_header(names: list[str], delimiter: str) -> bytes:
    """The header line of a CSV file, quoted as the csv module quotes it."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerow(names)
    return buffer.getvalue().encode()


def csv_chunks(tables: Iterable[pa.Table], delimiter: str) -> Iterator[bytes]:
    """The CSV bytes of each table, in order, each rendered on a worker thread while the next one is read and
    scored: Arrow's casts and joins release the GIL, so the two overlap on two cores. At most two chunks are in
    flight, so memory stays bounded."""
    with ThreadPoolExecutor(1, thread_name_prefix="csv-render") as pool:
        pending: Future[bytes] | None = None
        for table in tables:
            rendering = pool.submit(csv_bytes, table, delimiter)
            if pending is not None:
                yield pending.result()
            pending = rendering
        if pending is not None:
            yield pending.result()


def csv_bytes(table: pa.Table, delimiter: str, *, header: bool = False) -> bytes:
    """Render a table as CSV bytes (minimal quoting, `\\n` line ends), vectorised in Arrow."""
    parts = []
    if header:
        parts.append(csv_header(table.column_names, delimiter))
    if table.num_rows:
        texts = [_quote(column, delimiter) for column in csv_text_columns(table)]
        # The line end joins the last column rather than whole lines: one copy of the lines, not two.
        texts[-1] = pc.binary_join_element_wise(texts[-1], pa.scalar("\n", pa.string()), "")
        lines = pc.binary_join_element_wise(*texts, delimiter)
        # The lines' characters are one contiguous buffer: exactly the CSV body.
        _, offsets, data = lines.buffers()
        bounds = np.frombuffer(offsets, dtype=np.int32)[[lines.offset, lines.offset + len(lines)]]
        parts.append(data[int(bounds[0]) : int(bounds[1])].to_pybytes())
    return b"".join(parts)


# --- reading ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvHead:
    """What the first bytes of a CSV file say: delimiter, header names and a typical line length."""

    delimiter: str
    names: list[str]
    line_bytes: int


def sniff_csv(head: bytes, delimiter: str | None = None) -> CsvHead:
    """Check that the first bytes look like UTF-8 CSV text and read its header line."""
    text = decode_head(head)
    lines = text.splitlines()
    first = lines[0] if lines else ""
    if delimiter is None:
        delimiter = ";" if first.count(";") > first.count(",") else ","
    names = next(csv.reader([first], delimiter=delimiter), [])
    sample = [len(line.encode()) + 1 for line in lines[1:50]]
    return CsvHead(delimiter=delimiter, names=[name.strip() for name in names], line_bytes=max(sample or [64]))


class CsvScorer:
    """Score a CSV file chunk by chunk: construct (checks the header), then iterate for output bytes."""

    def __init__(
        self,
        model: SegmentationModel,
        source: str | Path | BinaryIO,
        options: ScoreOptions,
        *,
        log: PredictionLogWriter | None = None,
        request_id: str | None = None,
    ) -> None:
        self.model = model
        self.options = options
        self.log, self.request_id = log, request_id
        self._source = source
        if isinstance(source, str | Path):
            with open(source, "rb") as file:
                head = file.read(HEAD_BYTES)
        else:
            position = source.tell()
            head = source.read(HEAD_BYTES)
            source.seek(position)
        self.head = sniff_csv(head, options.delimiter)
        self.columns = resolve_columns(model, self.head.names, options)
        self.summary = new_summary(model, self.columns, options, delimiter=self.head.delimiter)
        self._malformed: list[int] = []
        self._rows_read = 0
        self._refusal: str | None = None

    def _on_invalid_row(self, row: Any) -> str:
        if "\n" in row.text or "\r" in row.text:
            # A quoted value that ran over lines and still left the row short: a quote that never closes, which
            # swallowed every line up to the next quote. Skipping it would drop those customers unseen.
            self._refusal = (
                f"line {row.number}: a quote opens a value that runs over {row.text.count(chr(10)) + 1} lines "
                "without closing; close the quote (or remove it) and send the file again"
            )
            return "error"
        self._malformed.append(row.number)
        return "skip"

    def _blocks(self) -> Iterator[pa.RecordBatch]:
        """The input as the reader's record batches of text columns, one per READ_BLOCK_BYTES block."""
        names = self.head.names
        try:
            # One reading thread: Arrow then knows the line number of each malformed row.
            reader = pacsv.open_csv(
                self._source,
                read_options=pacsv.ReadOptions(
                    column_names=names, skip_rows=1, block_size=READ_BLOCK_BYTES, use_threads=False
                ),
                # Quoted values may hold line breaks (valid CSV); read on one thread this costs nothing measurable.
                parse_options=pacsv.ParseOptions(
                    delimiter=self.head.delimiter, newlines_in_values=True, invalid_row_handler=self._on_invalid_row
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.string() for name in names},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            for batch in reader:
                self._rows_read += batch.num_rows
                yield batch
        except pa.ArrowInvalid as exc:
            raise InvalidRequest(self._refusal or self._read_problem(str(exc).splitlines()[0])) from None

    def _read_problem(self, message: str) -> str:
        """A reader's error in the user's terms."""
        if "UTF8" in message or "UTF-8" in message:
            return "the file is not UTF-8 text; save it as UTF-8 CSV"
        if "straddl" in message:  # a row longer than a block
            return (
                f"a row after the first {self._rows_read:,} is longer than {READ_BLOCK_BYTES // 1024} KiB: "
                "a quote that never closes, or a value far longer than a customer file holds"
            )
        return f"the file is not valid CSV: {message}"

    def batches(self) -> Iterator[tuple[pa.Table, list[int]]]:
        """The input as tables of text columns, about chunk_rows rows each (small reads, joined), each with the
        line numbers of the malformed rows the reader left out of it."""
        schema = pa.schema([pa.field(name, pa.string()) for name in self.head.names])
        pending: list[pa.RecordBatch] = []
        rows = 0
        for batch in self._blocks():
            pending.append(batch)
            rows += batch.num_rows
            if rows >= self.options.chunk_rows:
                yield pa.Table.from_batches(pending, schema), self._take_malformed()
                pending, rows = [], 0
        if pending or self._malformed:  # malformed lines may also follow the last good row
            yield pa.Table.from_batches(pending, schema), self._take_malformed()

    def tables(self) -> Iterator[pa.Table]:
        """Scored chunks as Arrow tables."""
        line = 2
        for table, malformed in self.batches():
            yield self._score(table, malformed, line)
            line += table.num_rows + len(malformed)
        metrics.record_scored_size(source="csv", customers=self.summary.rows)

    def _take_malformed(self) -> list[int]:
        malformed, self._malformed = self._malformed, []
        return malformed

    def _score(self, table: pa.Table, malformed: list[int], first_line: int) -> pa.Table:
        return score_table(
            self.model,
            table,
            columns=self.columns,
            options=self.options,
            summary=self.summary,
            first_line=first_line,
            malformed_lines=malformed,
            unit="line",
            log=self.log,
            request_id=self.request_id,
        )

    def __iter__(self) -> Iterator[bytes]:
        """The labelled CSV, header first, one bytes chunk per input chunk."""
        delimiter = self.head.delimiter
        yield csv_header(self.columns.output_names(self.options.on_error), delimiter)
        yield from csv_chunks(self.tables(), delimiter)


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
    )


def score_csv(
    model: SegmentationModel,
    source: str | Path | BinaryIO,
    sink: BinaryIO,
    *,
    options: ScoreOptions,
    progress: Callable[[int], None] | None = None,
    log: PredictionLogWriter | None = None,
    request_id: str | None = None,
) -> ScoreSummary:
    """Score a CSV file into a CSV sink, chunk by chunk, logging scored rows to `log`; returns the summary."""
    scorer = CsvScorer(model, source, options, log=log, request_id=request_id)
    for chunk in scorer:
        sink.write(chunk)
        if progress is not None:
            progress(scorer.summary.rows)
    return scorer.summary


@dataclass
class ScoredFile:
    """A finished scoring run: the summary, and the labelled file when one was asked for."""

    summary: ScoreSummary
    path: Path | None = None


def score_file(
    model: SegmentationModel,
    source: Path,
    *,
    options: ScoreOptions,
    summary_only: bool,
    log: PredictionLogWriter | None = None,
    request_id: str | None = None,
) -> ScoredFile:
    """Score the whole file before anything is sent: a summary, or the labelled CSV in a temporary file.

    A problem anywhere in the file (a bad row under "reject", invalid UTF-8, a quote that never closes) is then
    an error answer, never a labelled file cut short after its first chunks went out. Scored rows go to the
    prediction log `log`, chunk by chunk, when given.
    """
    if summary_only:
        scorer = CsvScorer(model, source, options, log=log, request_id=request_id)
        for _ in scorer.tables():
            pass
        return ScoredFile(summary=scorer.summary)
    with no_space_as(NO_SPACE_FOR_OUTPUT):
        handle, name = tempfile.mkstemp(prefix="scored-", suffix=".csv")
    try:
        with no_space_as(NO_SPACE_FOR_OUTPUT), os.fdopen(handle, "wb") as sink:
            summary = score_csv(model, source, sink, options=options, log=log, request_id=request_id)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return ScoredFile(summary=summary, path=Path(name))


# --- files on disk (the CLI) -------------------------------------------------------------------------

FILE_FORMATS: tuple[str, ...] = (".csv", ".parquet")


def file_format(path: str | Path) -> str:
    """The format a path's extension names: '.csv' or '.parquet'."""
    suffix = Path(str(path)).suffix.lower()
    if suffix not in FILE_FORMATS:
        raise InvalidRequest(f"{path}: use a .csv or .parquet file (the extension picks the format)")
    return suffix


def _parquet_tables(
    model: SegmentationModel, path: Path, options: ScoreOptions
) -> tuple[Columns, ScoreSummary, Iterator[pa.Table], pa.Schema]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidRequest(f"{path} is not a readable Parquet file: {str(exc).splitlines()[0]}") from None
    schema = parquet.schema_arrow
    columns = resolve_columns(model, list(schema.names), options)
    summary = new_summary(model, columns, options, delimiter=options.delimiter or ",")
    batches = parquet.iter_batches(batch_size=options.chunk_rows)
    return columns, summary, score_batches(model, batches, columns=columns, options=options, summary=summary), schema


def score_path(
    model: SegmentationModel,
    source: str | Path,
    target: str | Path,
    *,
    options: ScoreOptions,
    progress: Callable[[int], None] | None = None,
) -> ScoreSummary:
    """Score a .csv or .parquet file into a .csv or .parquet file, chunk by chunk; returns the summary.

    The output is written next to the target and renamed into place at the end, so a failed run leaves no
    half-written file behind.
    """
    source, target = Path(source), Path(target)
    in_format, out_format = file_format(source), file_format(target)
    if not source.is_file():
        raise InvalidRequest(f"input file not found: {source}")
    if not target.parent.is_dir():
        raise InvalidRequest(f"output folder not found: {target.parent}")
    if source.resolve() == target.resolve():
        raise InvalidRequest("the output must be a different file from the input")
    if in_format == ".csv":
        scorer = CsvScorer(model, source, options)
        columns, summary, tables = scorer.columns, scorer.summary, scorer.tables()
        input_schema = pa.schema([pa.field(name, pa.string()) for name in columns.names])
    else:
        columns, summary, tables, input_schema = _parquet_tables(model, source, options)
    delimiter = summary.delimiter
    with atomic_replace(target) as sink:
        if out_format == ".csv":
            sink.write(csv_header(columns.output_names(options.on_error), delimiter))
            for chunk in csv_chunks(tables, delimiter):
                sink.write(chunk)
                if progress is not None:
                    progress(summary.rows)
        else:
            import pyarrow.parquet as pq  # only here: it adds memory a CSV run does not need

            schema = output_schema(columns, options, input_schema)
            with pq.ParquetWriter(sink, schema) as writer:
                for table in tables:
                    writer.write_table(table.cast(schema))
                    if progress is not None:
                        progress(summary.rows)
    return summary
