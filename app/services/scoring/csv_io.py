"""CSV in: the streaming reader that scores a CSV file chunk by chunk (the writing side is csv_render)."""

import contextlib
import csv
import io
import queue
import re
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from app.core.errors import InvalidRequest
from app.models.model import SegmentationModel
from app.services.csv_text import HEAD_BYTES, decode_head
from app.services.scoring.chunk import ScoredChunk
from app.services.scoring.columns import check_width, resolve_columns
from app.services.scoring.csv_render import BOM as BOM
from app.services.scoring.csv_render import CsvStyle as CsvStyle
from app.services.scoring.csv_render import csv_bytes as csv_bytes
from app.services.scoring.csv_render import csv_chunks as csv_chunks
from app.services.scoring.csv_render import csv_header as csv_header
from app.services.scoring.csv_render import csv_text_columns as csv_text_columns
from app.services.scoring.csv_render import write_csv as write_csv
from app.services.scoring.lines import ChunkLines, LineCounter, unclosed_quote, value_lines
from app.services.scoring.options import ScoreOptions
from app.services.scoring.summary import ScoreSummary, new_summary
from app.services.scoring.table import OnScored, score_chunk
from app.utils.csv_head import UNNAMED_TAIL, first_record, row_names, sniff_delimiter
from app.utils.csv_rows import READ_BLOCK_BYTES, TAIL_BYTES, open_rows, read_problem

# Arrow's blocks (READ_BLOCK_BYTES) are joined into chunk_rows-row chunks for scoring.
_LINE_END = re.compile(r"\r\n|\r|\n")
T = TypeVar("T")


# --- reading ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvHead:
    """What the first bytes of a CSV file say: delimiter, header names, a typical line length, its line end and
    whether it starts with a BOM."""

    delimiter: str
    names: list[str]
    line_bytes: int
    line_end: str = "\n"
    bom: bool = False
    header_ends: bool = True  # False: the file is its header line alone, with no line end
    unnamed_tail: bool = False  # its records end with the delimiter: an empty field the header names nothing for

    @property
    def row_names(self) -> list[str]:
        """The names its records are read with: the columns, then UNNAMED_TAIL when they end with the delimiter."""
        return [*self.names, UNNAMED_TAIL] if self.unnamed_tail else list(self.names)


def sniff_csv(head: bytes, delimiter: str | None = None) -> CsvHead:
    """Check that the first bytes look like UTF-8 CSV text and read its header line (and, for a header or records
    ending with the delimiter, its first record: app.utils.csv_head.row_names)."""
    text = decode_head(head)
    end = _LINE_END.search(text)
    first = text[: end.start()] if end else text
    if delimiter is None:
        delimiter = sniff_delimiter(first)
    names = next(csv.reader([first], delimiter=delimiter), [])
    whole = end is not None or len(head) < HEAD_BYTES
    check_width(len(names), at_least=not whole)  # before any work per column
    if not whole:
        raise InvalidRequest(
            f"the header line is longer than {HEAD_BYTES // 1024} KiB; a customer file's header names its columns "
            "in far less"
        )
    sample = [len(line.encode()) + 1 for line in text.splitlines()[1:50]]
    record = first_record(text[end.end() :], delimiter, whole=len(head) < HEAD_BYTES) if end else None
    read = row_names([name.strip() for name in names], record)
    tail = read[-1:] == [UNNAMED_TAIL]
    return CsvHead(
        delimiter=delimiter,
        names=read[:-1] if tail else read,
        line_bytes=max(sample or [64]),
        line_end=end.group() if end else "\n",
        bom=head.startswith(BOM),
        header_ends=end is not None,
        unnamed_tail=tail,
    )


def _ends(source: str | Path | BinaryIO) -> tuple[bytes, bytes]:
    """The first HEAD_BYTES and the last TAIL_BYTES of a file, its position left as it was."""
    if isinstance(source, str | Path):
        with open(source, "rb") as file:
            return _ends(file)
    position = source.tell()
    try:
        head = source.read(HEAD_BYTES)
        size = source.seek(0, io.SEEK_END)
        source.seek(max(position, size - TAIL_BYTES))
        return head, source.read()
    finally:
        source.seek(position)


class CsvScorer:
    """Score a CSV file chunk by chunk: construct (checks the header), then iterate for output bytes.

    Each chunk's scored rows go to `on_scored` when given (a log spool); nothing is counted or logged here.
    """

    def __init__(
        self,
        model: SegmentationModel,
        source: str | Path | BinaryIO,
        options: ScoreOptions,
        *,
        on_scored: OnScored | None = None,
        head: CsvHead | None = None,
    ) -> None:
        self.model = model
        self.options = options
        self.on_scored = on_scored
        self._source = source
        first, tail = _ends(source)
        # `head`: the file's, already read (a Dask partition has the header line but not the file's first record).
        self.head = head or sniff_csv(first, options.delimiter)
        self.columns = resolve_columns(model, self.head.names, options)
        self.summary = new_summary(model, self.columns, options, delimiter=self.head.delimiter)
        self.style = CsvStyle(
            delimiter=self.head.delimiter,
            line_end=self.head.line_end,
            bom=options.excel or self.head.bom,
            formula_guard=options.formula_guard,
        )
        self._lines = LineCounter(
            self.columns,
            self.head.delimiter,
            ends_with_quote=tail.rstrip(b" \t\r\n").endswith(b'"'),
            unnamed_tail=self.head.unnamed_tail,
        )
        self._malformed: list[int] = []
        # Malformed records that hold line breaks, and how many lines each spans.
        self._unclosed: dict[int, int] = {}
        self._rows_read = 0

    def _on_invalid_row(self, row: Any) -> str:
        if "\n" in row.text or "\r" in row.text:
            # A quoted value that ran over lines and still left the row short: a quote that never closes, which
            # swallowed every line up to the next quote. Skipping it would drop those customers unseen: it is
            # refused once its chunk is read, where its line is known.
            self._unclosed[row.number] = value_lines(row.text)
        self._malformed.append(row.number)
        return "skip"

    def _blocks(self) -> Iterator[pa.RecordBatch]:
        """The input as the reader's record batches of text columns, one per READ_BLOCK_BYTES block."""
        try:
            batches = open_rows(
                self._source,
                names=self.head.row_names,
                delimiter=self.head.delimiter,
                on_invalid_row=self._on_invalid_row,
                block_size=READ_BLOCK_BYTES,
                header_ends=self.head.header_ends,
            )
            for batch in batches:
                self._rows_read += batch.num_rows
                yield batch
        except pa.ArrowInvalid as exc:
            if self._unclosed:  # the reader stopped past a quote that never closes: that is the problem to name
                record = min(self._unclosed)
                raise unclosed_quote(f"line {self._lines.line_of(record)}", self._unclosed[record]) from None
            raise InvalidRequest(self._read_problem(str(exc).splitlines()[0])) from None

    def _read_problem(self, message: str) -> str:
        """A reader's error in the user's terms."""
        source = self._source if isinstance(self._source, str | Path) else None
        return read_problem(message, rows_read=self._rows_read, block_size=READ_BLOCK_BYTES, source=source)

    def batches(self) -> Iterator[tuple[pa.Table, ChunkLines]]:
        """The input as tables of text columns, about chunk_rows rows each (small reads, joined), each with the
        lines of its rows and of the malformed rows the reader left out of it.

        A quote that never closes is refused here, before its chunk is scored, whatever the policy.
        """
        schema = pa.schema([pa.field(name, pa.string()) for name in self.head.row_names])
        pending: list[pa.RecordBatch] = []
        rows = 0
        for batch in self._blocks():
            if rows >= self.options.chunk_rows:
                # A full chunk waits for the next block: only then is it known not to end the file.
                yield self._chunk(pa.Table.from_batches(pending, schema), last=False)
                pending, rows = [], 0
            pending.append(batch)
            rows += batch.num_rows
        if pending or self._malformed:  # malformed lines may also follow the last good row
            yield self._chunk(pa.Table.from_batches(pending, schema), last=True)

    def _chunk(self, table: pa.Table, *, last: bool) -> tuple[pa.Table, ChunkLines]:
        lines, self._malformed = self._lines.place(table, self._malformed, self._unclosed, last=last)
        if not self.head.unnamed_tail:
            return table, lines
        # The field every record ends with is never output: a row with a value in it has a field too many.
        filled = pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(table.column(UNNAMED_TAIL))), 0)
        overfull = np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)
        return table.drop_columns([UNNAMED_TAIL]), replace(lines, overfull=overfull if overfull.any() else None)

    def tables(self) -> Iterator[pa.Table]:
        """Scored chunks as Arrow tables."""
        for chunk in self.chunks():
            yield chunk.table

    def chunks(self) -> Iterator[ScoredChunk]:
        """Scored chunks, their score columns coded where they can be (see `scored_csv_bytes`); the next chunk is
        read on a worker thread while this one is scored (Arrow's reader releases the GIL)."""
        for table, lines in read_ahead(self.batches()):
            yield score_chunk(
                self.model,
                table,
                columns=self.columns,
                options=self.options,
                summary=self.summary,
                first_line=lines.first_line,
                malformed_lines=lines.malformed,
                row_lines=lines.rows,
                overfull=lines.overfull,
                unit="line",
                on_scored=self.on_scored,
            )

    def __iter__(self) -> Iterator[bytes]:
        """The labelled CSV, header first, one bytes chunk per input chunk."""
        yield csv_header(self.columns.output_names(self.options), self.style)
        yield from csv_chunks(self.chunks(), self.style)


_DONE = object()


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """The items of an iterator, each produced on a worker thread while the one before is used (one waits at most).

    An exception of the iterator is raised here, in its place; stopping early stops the worker at its next item.
    """
    ready: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand(item: object, error: BaseException | None = None) -> None:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                ready.put((item, error), timeout=0.05)
                return

    def produce() -> None:
        try:
            for item in items:
                hand(item)
                if stop.is_set():
                    break
            hand(_DONE)
        except BaseException as error:  # every error is the consumer's to see, in its place
            hand(_DONE, error)
        finally:
            if isinstance(items, Generator):
                items.close()

    worker = threading.Thread(target=produce, name="csv-read", daemon=True)
    worker.start()
    try:
        while True:
            item, error = ready.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


def score_csv(
    model: SegmentationModel,
    source: str | Path | BinaryIO,
    sink: BinaryIO,
    *,
    options: ScoreOptions,
    progress: Callable[[int], None] | None = None,
    on_scored: OnScored | None = None,
) -> ScoreSummary:
    """Score a CSV file into a CSV sink, chunk by chunk, handing scored rows to `on_scored`; returns the summary."""
    scorer = CsvScorer(model, source, options, on_scored=on_scored)
    for chunk in scorer:
        sink.write(chunk)
        if progress is not None:
            progress(scorer.summary.rows)
    return scorer.summary
