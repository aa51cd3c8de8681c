"""An RFM version's file of transactions: its customers built as on_error says, then scored like any customer file.

A bad transaction line (an unreadable or future date, an amount missing or not a number, the wrong number of
fields) follows the policy as a bad row of a customer file does: `reject` refuses the file at the first one, naming
its line; `flag` and `skip` leave the line out, count it in the summary's `transactions` part, and build each
customer from their usable lines. A customer none of whose lines is usable is then a bad row of the scored file:
under `flag` kept, with empty score columns and an `error` saying why; under `skip` left out; counted under both.

The customer table is written as the transactions file is (delimiter, line ends, BOM, decimal commas in a `;`
file): the scorer takes the labelled file's style from the file it reads, so every engine keeps the user's.
"""

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from app.core.errors import InvalidRequest
from app.models.rfm.aggregate import CUSTOMER
from app.models.segmentations.spec import RfmOptions
from app.services.scoring.chunk import Coded, ScoredChunk, coded
from app.services.scoring.columns import Columns
from app.services.scoring.csv_render import CsvStyle, csv_header, write_csv
from app.services.scoring.options import ScoreOptions
from app.services.scoring.score_columns import ERROR_COLUMN, ScoreColumn
from app.services.scoring.summary import ScoreSummary
from app.utils.csv_head import HEAD_BYTES, sniff_head

# Customers rendered at a time into the table: its text, not the whole table's, is held at once.
TABLE_ROWS = 64 * 1024


@dataclass(frozen=True)
class Unusable:
    """Customers found unusable before scoring: their ids and why (text arrays of one length)."""

    ids: pa.Array
    reasons: pa.Array

    def __len__(self) -> int:
        return len(self.ids)

    def count(self, summary: ScoreSummary, on_error: str) -> None:
        """Count them in the summary as rows, flagged or skipped, per reason."""
        if not len(self):
            return
        summary.rows += len(self)
        if on_error == "flag":
            summary.flagged += len(self)
        else:
            summary.skipped += len(self)
        for item in pc.value_counts(self.reasons).to_pylist():
            summary.add_error(item["values"], item["counts"])

    def chunk(self, columns: Columns, options: ScoreOptions) -> ScoredChunk:
        """Them as flagged rows: the customer id, every other input cell and score column empty, `error` saying
        why."""
        n = len(self)
        empty = pa.array([""] * n, pa.string())
        inputs = pa.table({name: self.ids if name == CUSTOMER else empty for name in columns.names})
        labels = pc.unique(self.reasons)
        picks = pc.index_in(self.reasons, value_set=labels).to_numpy(zero_copy_only=False)
        appended: list[tuple[ScoreColumn, Coded | pa.Array]] = []
        for column in columns.appended(options):
            data = coded(labels.cast(column.arrow), picks) if column.name == ERROR_COLUMN else pa.nulls(n, column.arrow)
            appended.append((column, data))
        return ScoredChunk(inputs, appended)

    def after(
        self, chunks: Iterator[ScoredChunk], columns: Columns, options: ScoreOptions, summary: ScoreSummary
    ) -> Iterator[ScoredChunk]:
        """The file's scored chunks, then these customers' rows under flag; counted once the file's rows were."""
        yield from chunks
        self.count(summary, options.on_error)
        if options.on_error == "flag" and len(self):
            yield self.chunk(columns, options)


@dataclass(frozen=True)
class BuiltCustomers:
    """What building a transactions file's customer table read (the summary's `transactions` part), and the
    customers it found no usable line for."""

    summary: dict[str, Any]
    unusable: Unusable
    delimiter: str = ","

    def scoring(self, options: ScoreOptions) -> ScoreOptions:
        """The options its customer table is scored with: read with the delimiter it was written with (whatever
        the user's `delimiter=` said of the transactions), the customer id from its column."""
        return replace(options, delimiter=self.delimiter, id_column=CUSTOMER)


def refuse_feature_columns(options: ScoreOptions) -> None:
    """Refuse column= for a transactions file: its features are computed from the lines, not read from columns."""
    if options.feature_columns:
        raise InvalidRequest(
            "an RFM segmentation computes recency, frequency and monetary from the transactions, so column= has "
            "nothing to name; its transaction columns are named when the segmentation is created"
        )


def build_customers(source: Path, target: Path, *, options: RfmOptions, on_error: str) -> BuiltCustomers:
    """Build the customer table of a transactions file into `target` (CSV written as the transactions file is);
    under reject, the first bad line refuses the file (InvalidDataset naming its line)."""
    from app.models.rfm.build import build_rfm  # pyarrow's CSV reader: RFM versions only

    result = build_rfm(source, options=options, reject=on_error == "reject")
    # Formulas are left as they are: the labelled file guards them, once.
    style = written_as(source, result.summary["delimiter"], formula_guard=False)
    with target.open("wb") as sink:
        write_customer_table(result.table, style, sink)
    unusable = result.unusable
    ids, reasons = (unusable.column(name).combine_chunks() for name in (CUSTOMER, "reason"))
    return BuiltCustomers(result.summary, Unusable(ids, reasons), delimiter=style.delimiter)


def written_as(source: Path, delimiter: str, *, formula_guard: bool) -> CsvStyle:
    """How the transactions file `source` is written (`delimiter`: the one it was read with), for its customer
    table: its delimiter, line ends and BOM, decimal commas in a `;` file."""
    with source.open("rb") as handle:
        head = sniff_head(handle.read(HEAD_BYTES), delimiter)
    return CsvStyle(delimiter=head.delimiter, line_end=head.line_end, bom=head.bom, formula_guard=formula_guard)


def write_customer_table(table: pa.Table, style: CsvStyle, sink: BinaryIO) -> None:
    """A customer table as CSV in `style`, rendered TABLE_ROWS customers at a time, as a labelled file is."""
    sink.write(csv_header(table.column_names, style))
    write_csv((table.slice(start, TABLE_ROWS) for start in range(0, table.num_rows, TABLE_ROWS)), style, sink)
