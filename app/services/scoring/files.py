"""Whole files: an upload scored in full before anything is answered, and .csv or .parquet files on disk (the CLI)."""

import contextlib
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from app.core.errors import InvalidRequest, no_space_as
from app.models.features import normalise_columns
from app.models.model import SegmentationModel
from app.models.segmentations.spec import DEFAULT_NAME, RfmOptions
from app.services.csv_text import HEAD_BYTES
from app.services.monitoring.prediction_log import PredictionLogWriter
from app.services.scoring.chunk import ScoredChunk
from app.services.scoring.columns import Columns, resolve_columns
from app.services.scoring.csv_io import CsvScorer, sniff_csv
from app.services.scoring.csv_render import CsvStyle, csv_header, write_csv
from app.services.scoring.options import ScoreOptions
from app.services.scoring.spool import LogSpool, record_metrics
from app.services.scoring.summary import ScoreSummary, new_summary
from app.services.scoring.table import output_schema, score_chunks
from app.utils.files import atomic_replace

if TYPE_CHECKING:
    from app.services.runs.store import RunFile
    from app.services.scoring.rfm import Unusable

NO_SPACE_FOR_OUTPUT = "no space left on the server for the labelled file; nothing was kept, try again later"
FILE_FORMATS: tuple[str, ...] = (".csv", ".parquet")


@dataclass
class ScoredFile:
    """A file scored in full: the summary, the labelled file when one was asked for, and its held-back log rows."""

    summary: ScoreSummary
    path: Path | None = None
    spool: LogSpool | None = None
    segmentation: str = DEFAULT_NAME

    def record(self) -> None:
        """Count the file in the metrics and queue its rows for the prediction log: once, after the answer is built."""
        record_metrics(self.summary, segmentation=self.segmentation)
        if self.spool is not None:
            self.spool.release()


def temporary_path() -> Path:
    """A fresh path in the temporary folder for a labelled file that the caller deletes once it is sent."""
    return Path(tempfile.gettempdir()) / f"scored-{secrets.token_hex(16)}.csv"


def score_file(
    model: SegmentationModel,
    source: Path,
    *,
    options: ScoreOptions,
    target: Path | None,
    spool_rows: int,
    log: PredictionLogWriter | None = None,
    request_id: str | None = None,
    segmentation: str = DEFAULT_NAME,
    keep: "RunFile | None" = None,
) -> ScoredFile:
    """Score the whole file before anything is sent: a summary, or also the labelled CSV written whole to `target`.

    A problem anywhere in the file (a bad row under "reject", invalid UTF-8, a quote that never closes) is then
    an error answer, never a labelled file cut short after its first chunks went out; `target` is then left as it
    was. Nothing is counted or logged here: up to `spool_rows` scored rows wait in the result for its `record()`.
    With `keep`, the labelled rows are also written to that run file (its caller commits or discards it).
    """
    if model.info.get("kind") == "rfm" and not is_customer_table(model, source):
        # An RFM version's files are transactions: built into one row per customer, then scored like any file.
        from app.services.scoring.rfm import build_customers, refuse_feature_columns  # only for RFM versions

        refuse_feature_columns(options)
        with tempfile.TemporaryDirectory(prefix="rfm-") as work:
            table = Path(work) / "customers.csv"
            rfm_options = RfmOptions.from_dict(model.info.get("rfm_options"))
            built = build_customers(source, table, options=rfm_options, on_error=options.on_error)
            scored = _score_customers(
                model, table, options=built.scoring(options), target=target,
                spool_rows=spool_rows, log=log, request_id=request_id, segmentation=segmentation, keep=keep,
                unusable=built.unusable,
            )  # fmt: skip
        scored.summary.rfm = built.summary
        return scored
    return _score_customers(
        model, source, options=options, target=target, spool_rows=spool_rows, log=log, request_id=request_id,
        segmentation=segmentation, keep=keep,
    )  # fmt: skip


def is_customer_table(model: SegmentationModel, source: Path) -> bool:
    """Whether a file for an RFM version is its customer table already (as `rfm build` writes it): one row per
    customer with every feature's column, scored as it is rather than read as transactions."""
    with source.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    try:
        names = set(normalise_columns(sniff_csv(head).names))
    except InvalidRequest:
        return False  # not readable as CSV: the transactions reader says why
    return set(model.features) <= names


def _score_customers(
    model: SegmentationModel,
    source: Path,
    *,
    options: ScoreOptions,
    target: Path | None,
    spool_rows: int,
    log: PredictionLogWriter | None,
    request_id: str | None,
    segmentation: str,
    keep: "RunFile | None" = None,
    unusable: "Unusable | None" = None,
) -> ScoredFile:
    """Score a file of customers (one per row), as score_file says; `unusable` customers (an RFM file's, found
    while building it) are counted after the file's rows, and under flag written after them."""
    spool = None
    if log is not None:
        spool = LogSpool(log, model=model, max_rows=spool_rows, request_id=request_id, segmentation=segmentation)
    scorer = CsvScorer(model, source, options, on_scored=None if spool is None else spool.add)
    chunks = scorer.chunks()
    if unusable is not None:
        chunks = unusable.after(chunks, scorer.columns, options, scorer.summary)
    if keep is not None:  # the run's Parquet file takes the same chunks as they pass, and the answer's style
        from app.services.runs.export import with_csv_style

        text_columns = pa.schema([pa.field(name, pa.string()) for name in scorer.columns.names])
        schema = with_csv_style(output_schema(scorer.columns, options, text_columns), scorer.style)
        chunks = _kept(chunks, keep, schema)
    # Closed on any failure (a write that fails included): the read-ahead thread and the run's writer stop at once,
    # not when the last reference to the generator goes (a traceback held by a caller keeps it).
    with no_space_as(NO_SPACE_FOR_OUTPUT), contextlib.closing(chunks):
        if target is None:
            for _ in chunks:
                pass
        else:
            with atomic_replace(target) as sink:
                sink.write(csv_header(scorer.columns.output_names(options), scorer.style))
                write_csv(chunks, scorer.style, sink)
    return ScoredFile(summary=scorer.summary, path=target, spool=spool, segmentation=segmentation)


def _kept(chunks: Iterator[ScoredChunk], keep: "RunFile", schema: pa.Schema) -> Iterator[ScoredChunk]:
    """The chunks passed on as they are, each one's table also written to the run's file."""
    passing: list[ScoredChunk] = []

    def tables() -> Iterator[pa.Table]:
        for chunk in chunks:
            passing.append(chunk)
            yield chunk.table

    # Closed with this generator (see _score_customers): the tee's writer and the read-ahead stop with it.
    with contextlib.closing(keep.tee(tables(), schema)) as passed, contextlib.closing(chunks):
        for _ in passed:  # the tee hands each table on as soon as it was handed one
            yield passing.pop()


# --- files on disk (the CLI) -------------------------------------------------------------------------


def file_format(path: str | Path) -> str:
    """The format a path's extension names: '.csv' or '.parquet'."""
    suffix = Path(str(path)).suffix.lower()
    if suffix not in FILE_FORMATS:
        raise InvalidRequest(f"{path}: use a .csv or .parquet file (the extension picks the format)")
    return suffix


def _parquet_chunks(
    model: SegmentationModel, path: Path, options: ScoreOptions
) -> tuple[Columns, ScoreSummary, Iterator[ScoredChunk], pa.Schema]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidRequest(f"{path} is not a readable Parquet file: {str(exc).splitlines()[0]}") from None
    schema = parquet.schema_arrow
    columns = resolve_columns(model, list(schema.names), options)
    summary = new_summary(model, columns, options, delimiter=options.delimiter or ",")
    batches = parquet.iter_batches(batch_size=options.chunk_rows)
    return columns, summary, score_chunks(model, batches, columns=columns, options=options, summary=summary), schema


def score_path(
    model: SegmentationModel,
    source: str | Path,
    target: str | Path,
    *,
    options: ScoreOptions,
    progress: Callable[[int], None] | None = None,
    unusable: "Unusable | None" = None,
) -> ScoreSummary:
    """Score a .csv or .parquet file into a .csv or .parquet file, chunk by chunk; returns the summary.

    The output is written next to the target and renamed into place at the end, so a failed run leaves no
    half-written file behind. `unusable` customers (an RFM file's) are counted after the file's rows, and under
    flag written after them.
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
        columns, summary, chunks, style = scorer.columns, scorer.summary, scorer.chunks(), scorer.style
        input_schema = pa.schema([pa.field(name, pa.string()) for name in columns.names])
    else:
        columns, summary, chunks, input_schema = _parquet_chunks(model, source, options)
        style = CsvStyle(delimiter=summary.delimiter, bom=options.excel, formula_guard=options.formula_guard)
    if unusable is not None:
        chunks = unusable.after(chunks, columns, options, summary)
    with contextlib.closing(chunks), atomic_replace(target) as sink:  # closed on a failure: see _score_customers
        if out_format == ".csv":
            sink.write(csv_header(columns.output_names(options), style))
            write_csv(chunks, style, sink, progress=None if progress is None else lambda: progress(summary.rows))
        else:
            import pyarrow.parquet as pq  # only here: it adds memory a CSV run does not need

            schema = output_schema(columns, options, input_schema)
            with pq.ParquetWriter(sink, schema) as writer:
                for chunk in chunks:
                    writer.write_table(chunk.table.cast(schema))
                    if progress is not None:
                        progress(summary.rows)
    return summary
