"""What a Dask worker runs: one partition scored by the local engine, its labelled rows and its summary in one pass.

A CSV partition is a byte range starting on a record (app/utils/csv_ranges.py), read with the header line in front
of it by the local engine's own reader (`CsvScorer`: Arrow, the same options, bad rows, quotes and UTF-8 handled the
same way); a Parquet partition is a run of row groups. Labelled CSV comes back as bytes that the client places in the
output file (`write_at`, on the worker holding them); Parquet is written by the worker as one part file.
"""

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from app.models.model import SegmentationModel
from app.services.scoring.columns import Columns
from app.services.scoring.csv_io import CsvHead, CsvScorer, CsvStyle, csv_chunks
from app.services.scoring.options import ScoreOptions
from app.services.scoring.summary import ScoreSummary, new_summary
from app.services.scoring.table import output_schema, score_table
from app.utils.csv_ranges import ByteRange


@dataclass(frozen=True)
class PartDone:
    """What the client needs of a scored partition: its summary, the labelled CSV's size, and how far it read."""

    summary: ScoreSummary
    size: int = 0  # bytes of labelled CSV (0 when the partition wrote Parquet)
    lines: int = 0  # records and quoted line breaks: the next partition's lines are numbered after these
    rows_read: int = 0  # rows the reader returned (what "a row after the first N" counts)


Scored = tuple[list[bytes], PartDone]


class RangeScorer(CsvScorer):
    """The local engine's CSV scorer on one byte range, numbering lines and rows on from the ranges before it."""

    def __init__(
        self,
        model: SegmentationModel,
        source: pa.NativeFile,
        options: ScoreOptions,
        *,
        lines_before: int = 0,
        rows_before: int = 0,
        head: CsvHead | None = None,
    ) -> None:
        super().__init__(model, source, options, head=head)
        # CsvScorer numbers from its own stream's header; these shift its numbers to the file's (a hook CsvScorer
        # could take as arguments).
        self._lines.breaks += lines_before
        self._rows_read = rows_before
        self._lines_before, self._rows_before = lines_before, rows_before

    def done(self, size: int) -> PartDone:
        """The partition's summary and counts, once every chunk was scored."""
        lines = self._lines.line_of(self._lines.record) - 2 - self._lines_before
        return PartDone(self.summary, size=size, lines=lines, rows_read=self._rows_read - self._rows_before)


def _read_range(path: str, header_end: int, part: ByteRange) -> pa.BufferReader:
    """The header line then the range's bytes, in one buffer (the range holds the header when it starts the file)."""
    head = 0 if part.first else header_end
    buffer = bytearray(head + part.stop - part.start)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as file:
        for start, target in ((0, view[:head]), (part.start, view[head:])):
            file.seek(start)
            while target:
                read = file.readinto(target)
                if not read:
                    break
                target = target[read:]
    return pa.BufferReader(pa.py_buffer(buffer))


def _written_parquet(tables: Iterable[pa.Table], schema: pa.Schema, out: str) -> Iterator[pa.Table]:
    """Write the tables into one Parquet part file as they pass, cast to the local engine's schema."""
    import pyarrow.parquet as pq

    with pq.ParquetWriter(out, schema) as writer:
        for table in tables:
            writer.write_table(table.cast(schema))
            yield table


def score_csv_range(
    model: SegmentationModel,
    path: str,
    header_end: int,
    part: ByteRange,
    options: ScoreOptions,
    out: str | None = None,
    lines_before: int = 0,
    rows_before: int = 0,
    head: CsvHead | None = None,
) -> Scored:
    """Score one byte range of a CSV file: labelled CSV bytes, or (with `out`) a Parquet part file; one pass.

    `head`: the file's (sniff_csv of its first bytes), so that every range reads its records as the first one does.
    """
    source = _read_range(path, header_end, part)
    scorer = RangeScorer(model, source, options, lines_before=lines_before, rows_before=rows_before, head=head)
    if out is None:
        chunks = list(csv_chunks(scorer.tables(), scorer.style))
        return chunks, scorer.done(sum(map(len, chunks)))
    text = pa.schema([pa.field(name, pa.string()) for name in scorer.columns.names])
    for _ in _written_parquet(scorer.tables(), output_schema(scorer.columns, options, text), out):
        pass
    return [], scorer.done(0)


def score_parquet_groups(
    model: SegmentationModel,
    path: str,
    row_groups: list[int],
    first_row: int,
    columns: Columns,
    options: ScoreOptions,
    style: CsvStyle,
    input_schema: pa.Schema,
    out: str | None = None,
) -> Scored:
    """Score row groups of a Parquet file (rows numbered from `first_row`): CSV bytes, or a Parquet part file."""
    import pyarrow.parquet as pq

    summary = new_summary(model, columns, options, delimiter=style.delimiter)

    def tables() -> Iterator[pa.Table]:
        row = first_row
        batches = pq.ParquetFile(path).iter_batches(batch_size=options.chunk_rows, row_groups=row_groups)
        for batch in batches:
            table = pa.Table.from_batches([batch])
            yield score_table(model, table, columns=columns, options=options, summary=summary, first_line=row)
            row += table.num_rows

    if out is None:
        chunks = list(csv_chunks(tables(), style))
        return chunks, PartDone(summary, size=sum(map(len, chunks)))
    for _ in _written_parquet(tables(), output_schema(columns, options, input_schema), out):
        pass
    return [], PartDone(summary)


def part_done(scored: Scored) -> PartDone:
    """The small half of a scored partition: what the client fetches."""
    return scored[1]


def write_at(scored: Scored, path: str, offset: int) -> int:
    """Write a partition's labelled CSV into the output file at `offset` (run where the bytes are); returns bytes."""
    descriptor = os.open(Path(path), os.O_WRONLY)
    written = 0
    try:
        for chunk in scored[0]:
            view = memoryview(chunk)
            while view:
                count = os.pwrite(descriptor, view, offset + written)
                view, written = view[count:], written + count
    finally:
        os.close(descriptor)
    return written
