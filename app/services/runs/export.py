"""CSV downloads of runs: the labelled file, a filtered list of customers, the customers who moved.

Written by the scoring service's CSV writer, so text a spreadsheet would run as a formula is made inert here too.
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from app.services.scoring.csv_io import CsvStyle, csv_chunks, csv_header

SAFE_CSV = CsvStyle(formula_guard=True)
READ_ROWS = 16_384
# The Parquet metadata key of how the scoring answer was written (delimiter, line end, BOM): the run's CSV is
# rendered the same way. A run kept before it was stored has none and downloads in SAFE_CSV.
CSV_STYLE_KEY = b"segmentation.csv_style"


def csv_of_tables(names: list[str], tables: Iterable[pa.Table], style: CsvStyle = SAFE_CSV) -> Iterator[bytes]:
    """A CSV file, header first, chunk by chunk (iterate it on a worker thread)."""
    yield csv_header(names, style)
    yield from csv_chunks(tables, style)


def with_csv_style(schema: pa.Schema, style: CsvStyle) -> pa.Schema:
    """A run file's schema carrying the style its scoring answer was written in."""
    return schema.with_metadata({**(schema.metadata or {}), CSV_STYLE_KEY: json.dumps(asdict(style)).encode()})


def run_csv_style(schema: pa.Schema) -> CsvStyle:
    """The style a run's CSV is written in: its scoring answer's, formulas always made inert."""
    stored = (schema.metadata or {}).get(CSV_STYLE_KEY)
    if stored is None:
        return SAFE_CSV
    # Whoever opens the run's page may open its file in a spreadsheet, whatever the scoring asked: the Parquet
    # download has every value as sent.
    return replace(CsvStyle(**json.loads(stored)), formula_guard=True)


def customers_csv(path: Path, names: list[str], tables: Iterable[pa.Table]) -> Iterator[bytes]:
    """Some of a run's customers as CSV in the style of its labelled file: a `;` run's list has `;` and decimal commas
    in every number, as its file does."""
    return csv_of_tables(names, tables, run_csv_style(pq.read_schema(path)))


def run_csv(path: Path) -> Iterator[bytes]:
    """A run's labelled file as CSV, read from its Parquet file a chunk at a time, in its scoring answer's style."""
    parquet = pq.ParquetFile(path)
    batches = (pa.Table.from_batches([batch]) for batch in parquet.iter_batches(batch_size=READ_ROWS))
    schema = parquet.schema_arrow
    return csv_of_tables(list(schema.names), batches, run_csv_style(schema))
