"""The records below a CSV file's header, read by Arrow one way for every reader: scoring (locally and on Dask),
training and the column profile. Every cell is text; a record without the header's number of fields is handed to
the caller's handler, never split into columns.
"""

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv

# What the Arrow reader asks of a record it could not split: "skip" it (the handler has counted it).
InvalidRowHandler = Callable[[Any], str]


def open_rows(
    source: str | Path | BinaryIO | pa.NativeFile,
    *,
    names: Sequence[str],
    delimiter: str,
    on_invalid_row: InvalidRowHandler,
    block_size: int,
    header_ends: bool = True,
) -> Iterator[pa.RecordBatch]:
    """The records after the header line as batches of text columns named `names`, in order.

    Read on one thread, so that every record handed to `on_invalid_row` carries its number (the header is record 1).
    `header_ends`: whether a line end closes the header line. A file that is its header alone, with no line end, has
    no records: Arrow cannot skip a header line that never ends, so it is not asked to.
    """
    if not header_ends:
        return
    reader = pacsv.open_csv(
        str(source) if isinstance(source, str | Path) else source,
        read_options=pacsv.ReadOptions(column_names=list(names), skip_rows=1, block_size=block_size, use_threads=False),
        # Quoted values may hold line breaks (valid CSV); read on one thread this costs nothing measurable.
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid_row
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    yield from reader
