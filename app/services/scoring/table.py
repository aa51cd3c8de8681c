"""Score one chunk of a customer file: the input columns unchanged, then the score columns; bad rows per the policy."""

from collections.abc import Callable, Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from app.core.errors import InvalidRequest
from app.models.explanation import POSITIONS, Explanations, confidence_index, confidence_texts, explain
from app.models.model import Scores, SegmentationModel
from app.services.scoring.chunk import Coded, ScoredChunk, coded
from app.services.scoring.columns import Columns
from app.services.scoring.counterfactuals import counterfactual_arrays
from app.services.scoring.options import ScoreOptions
from app.services.scoring.score_columns import (
    CONFIDENCE_TEXT_COLUMN,
    ERROR_COLUMN,
    EXPLANATION_PREFIXES,
    ScoreColumn,
    appended_fields,
)
from app.services.scoring.summary import ScoreSummary
from app.services.scoring.validation import MALFORMED, numbers, validate_rows
from app.utils.csv_head import uses_decimal_comma

# Called with each chunk's scored rows (their feature values), scores and customer ids (the file's id column, None
# when it has none): how a caller keeps them for the log.
OnScored = Callable[[np.ndarray, Scores, pa.ChunkedArray | None], None]


def score_table(
    model: SegmentationModel,
    table: pa.Table,
    *,
    columns: Columns,
    options: ScoreOptions,
    summary: ScoreSummary,
    first_line: int = 1,
    malformed_lines: list[int] | None = None,
    row_lines: np.ndarray | None = None,
    unit: str = "row",
    on_scored: OnScored | None = None,
) -> pa.Table:
    """Score one chunk into a table: the input columns unchanged, then the score columns (see `score_chunk`)."""
    return score_chunk(
        model, table, columns=columns, options=options, summary=summary, first_line=first_line,
        malformed_lines=malformed_lines, row_lines=row_lines, unit=unit, on_scored=on_scored,
    ).table  # fmt: skip


def score_chunk(
    model: SegmentationModel,
    table: pa.Table,
    *,
    columns: Columns,
    options: ScoreOptions,
    summary: ScoreSummary,
    first_line: int = 1,
    malformed_lines: list[int] | None = None,
    row_lines: np.ndarray | None = None,
    overfull: np.ndarray | None = None,
    unit: str = "row",
    on_scored: OnScored | None = None,
) -> ScoredChunk:
    """Score one chunk: the input columns unchanged, then the score columns; bad rows per the policy.

    `first_line` numbers the chunk's first row in the file, or `row_lines` every row's line when quoted values
    make rows span lines; `malformed_lines` are lines the reader could not split into the header's fields
    (already left out of `table`), counted here like every other bad row; `overfull` marks rows with a value past
    the header's last column (in a file whose rows end with the delimiter): bad rows of that reason too, their
    other columns in place. The chunk's scored rows go to
    `on_scored` (when given); nothing is counted or logged here.
    """
    malformed = sorted(malformed_lines or [])
    X, codes, reasons = validate_rows(model, table, columns, decimal_comma=uses_decimal_comma(summary.delimiter))
    if overfull is not None:
        reasons.append(MALFORMED)
        codes[overfull] = len(reasons) - 1
    summary.rows += table.num_rows + len(malformed)
    bad = codes != 0
    if options.on_error == "reject" and (bad.any() or malformed):
        rejected = [(line, MALFORMED) for line in malformed[:1]]
        if bad.any():
            row = int(np.argmax(bad))
            if row_lines is not None:
                line = int(row_lines[row])
            else:
                line = first_line + row
                for skipped in malformed:  # lines the reader skipped come before this row in the file
                    line += skipped <= line
            rejected.append((line, reasons[codes[row]]))
        line, reason = min(rejected)
        raise InvalidRequest(
            f"{unit} {line} is not usable: {reason}; fix it, or score with on_error=flag or on_error=skip"
        )
    summary.add_error(MALFORMED, len(malformed))
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
    all_good = not bad.any()
    scored = X if all_good else X[good]
    scores = model.score(scored)
    if on_scored is not None:
        ids = None if columns.customer_id is None else table.column(columns.customer_id)
        on_scored(scored, scores, ids if ids is None or all_good else ids.filter(pa.array(good)))
    values = {feature: X[:, f] if all_good else X[good, f] for f, feature in enumerate(model.features)}
    if columns.age is not None and "age" not in values:
        ages = numbers(table.column(columns.age), decimal_comma=uses_decimal_comma(summary.delimiter))[0]
        values["age"] = ages if all_good else ages[good]
    genders = None
    if columns.gender is not None:
        genders = table.column(columns.gender)
        genders = genders if good.all() else genders.filter(pa.array(good))
        genders = pc.cast(genders, pa.string())
    summary.add_scored(scores.positions, values, genders)
    summary.add_flags(model.features, scores.is_atypical, scores.out_of_range)
    explained = explain(model, scored, scores) if options.explain else None
    moves = counterfactual_arrays(model, table, X, good, columns) if columns.changes else {}
    return _with_scores(model, table, scores, good, codes, reasons, options, columns, moves, explained)


def _with_scores(
    model: SegmentationModel,
    table: pa.Table,
    scores: Scores,
    good: np.ndarray,
    codes: np.ndarray,
    reasons: list[str],
    options: ScoreOptions,
    columns: Columns,
    moves: dict[str, pa.Array],
    explained: Explanations | None = None,
) -> ScoredChunk:
    n = table.num_rows
    all_good = bool(good.all())
    mask = None if all_good else ~good

    def full(values: np.ndarray) -> np.ndarray:
        if all_good:
            return values
        out = np.zeros(n, dtype=values.dtype)
        out[good] = values
        return out

    segments = model.segments
    positions = full(scores.positions.astype(np.int32))
    # A one-segment model has no runner-up (-1): an empty cell, as for a bad row.
    runner_up = full(scores.runner_up.astype(np.int32))
    no_runner_up = runner_up < 0 if all_good else ~good | (runner_up < 0)
    # Text per segment, picked by position: one small array each, no string built per row.
    texts = {
        "segment_name": ([segment.name for segment in segments], positions, mask),
        "runner_up": ([segment.name for segment in segments], runner_up, no_runner_up),
        "description": ([segment.description for segment in segments], positions, mask),
        "marketing_strategy": (["; ".join(segment.strategy) for segment in segments], positions, mask),
    }
    ids = [segment.segment_id for segment in segments]
    flags = {"is_atypical": scores.is_atypical, "out_of_range": scores.any_out_of_range}
    values = {"confidence": scores.confidence, "distance": scores.nearest}
    if explained is not None:
        texts.update(_explanation_texts(model, explained, scores, full, good))
        values.update(_explanation_values(model, explained))
    # Each column's type and rounding come from the one table of score columns.
    appended: list[tuple[ScoreColumn, Coded | pa.Array]] = []
    for column in columns.appended(options):
        data: Coded | pa.Array
        if column.name in moves:
            data = moves[column.name]
        elif column.name == ERROR_COLUMN:
            data = coded(pa.array(reasons, column.arrow), codes)
        elif column.name == "segment_id":
            data = coded(pa.array(ids, column.arrow), positions, mask)
        elif column.name in flags:
            data = coded(pa.array([False, True], column.arrow), full(flags[column.name].astype(np.int32)), mask)
        elif column.name in texts:
            labels, picks, missing = texts[column.name]
            data = coded(pa.array(labels, column.arrow), picks, missing)
        else:
            value = values[column.name]
            if column.decimals is not None:
                value = np.round(value, column.decimals)
            missing = np.isnan(value) if value.dtype.kind == "f" else None
            if missing is not None and missing.any():  # a share without a runner-up, a range never recorded
                data = pa.array(full(value), column.arrow, mask=full(missing) | ~good)
            else:
                data = pa.array(full(value), column.arrow, mask=mask)
        appended.append((column, data))
    return ScoredChunk(table, appended)


def _explanation_values(model: SegmentationModel, explained: Explanations) -> dict[str, np.ndarray]:
    """The explanation's numeric columns of the scored rows, by column name."""
    values = {}
    for f, feature in enumerate(model.features):
        low, high, _, distance, margin = (prefix + feature for prefix in EXPLANATION_PREFIXES)
        values[low] = explained.typical_low[:, f]
        values[high] = explained.typical_high[:, f]
        values[distance] = explained.share_of_distance[:, f]
        values[margin] = explained.share_of_margin[:, f]
    return values


def _explanation_texts(
    model: SegmentationModel,
    explained: Explanations,
    scores: Scores,
    full: Callable[[np.ndarray], np.ndarray],
    good: np.ndarray,
) -> dict[str, tuple[list[str], np.ndarray, np.ndarray]]:
    """The explanation's text columns as (labels, picks, missing): sentences picked per row, never built per row."""
    texts = {}
    for f, feature in enumerate(model.features):
        position = full(explained.position[:, f].astype(np.int32))
        unknown = ~good | (position < 0)  # a bad row, or a range the version never recorded
        texts[EXPLANATION_PREFIXES[2] + feature] = (list(POSITIONS), position, unknown)
    picks = full(confidence_index(model, explained, scores).astype(np.int32))
    texts[CONFIDENCE_TEXT_COLUMN] = (confidence_texts(model), picks, ~good)
    return texts


def output_schema(columns: Columns, options: ScoreOptions, input_schema: pa.Schema) -> pa.Schema:
    """The schema of every scored chunk (used for an empty file and for Parquet writers)."""
    explained = options.explained(list(columns.features))
    return pa.schema(
        [*input_schema, *appended_fields(options.on_error, options.extra_columns, explained, columns.changes)]
    )


def score_batches(
    model: SegmentationModel,
    batches: Iterable[pa.RecordBatch | pa.Table],
    *,
    columns: Columns,
    options: ScoreOptions,
    summary: ScoreSummary,
) -> Iterator[pa.Table]:
    """Score a stream of chunks (Parquet row groups, data frames) in order, one output table per chunk."""
    for chunk in score_chunks(model, batches, columns=columns, options=options, summary=summary):
        yield chunk.table


def score_chunks(
    model: SegmentationModel,
    batches: Iterable[pa.RecordBatch | pa.Table],
    *,
    columns: Columns,
    options: ScoreOptions,
    summary: ScoreSummary,
) -> Iterator[ScoredChunk]:
    """`score_batches`, each chunk's score columns coded where they can be (for a CSV writer)."""
    first_row = 1
    for batch in batches:
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        yield score_chunk(model, table, columns=columns, options=options, summary=summary, first_line=first_row)
        first_row += table.num_rows
