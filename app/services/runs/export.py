"""CSV downloads of runs: the labelled file, a filtered list of customers, the customers who moved.

Written by the scoring service's CSV writer, so text a spreadsheet would run as a formula is made inert here too.
"""

from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from app.services.scoring.csv_io import CsvStyle, csv_chunks, csv_header

SAFE_CSV = CsvStyle(formula_guard=True)
READ_ROWS = 16_384


def csv_of_tables(names: list[str], tables: Iterable[pa.Table]) -> Iterator[bytes]:
    """A CSV file, header first, chunk by chunk (iterate it on a worker thread)."""
    yield csv_header(names, SAFE_CSV)
    yield from csv_chunks(tables, SAFE_CSV)


def run_csv(path: Path) -> Iterator[bytes]:
    """A run's labelled file as CSV, read from its Parquet file a chunk at a time."""
    parquet = pq.ParquetFile(path)
    batches = (pa.Table.from_batches([batch]) for batch in parquet.iter_batches(batch_size=READ_ROWS))
    return csv_of_tables(list(parquet.schema_arrow.names), batches)
