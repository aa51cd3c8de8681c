"""The one Arrow reading of the records below a CSV header: text cells, malformed records handed over, never split."""

import io

import pyarrow as pa

from app.utils.csv_rows import open_rows


def _read(data: bytes, names: list[str], *, header_ends: bool = True) -> tuple[pa.Table, list[tuple[int, int]]]:
    malformed: list[tuple[int, int]] = []

    def handler(row) -> str:
        malformed.append((row.number, row.actual_columns))
        return "skip"

    batches = list(
        open_rows(
            io.BytesIO(data),
            names=names,
            delimiter=",",
            on_invalid_row=handler,
            block_size=1 << 16,
            header_ends=header_ends,
        )
    )
    schema = pa.schema([pa.field(name, pa.string()) for name in names])
    return pa.Table.from_batches(batches, schema), malformed


def test_rows_are_text_under_the_given_names_and_malformed_records_are_handed_over():
    table, malformed = _read(b"a,b\n1,007\n2,3,4\n5\n,\n", ["a", "b"])
    assert table.to_pydict() == {"a": ["1", ""], "b": ["007", ""]}
    # Record numbers count the header as record 1.
    assert malformed == [(3, 3), (4, 1)]


def test_a_file_whose_rows_all_have_one_field_more_is_never_shifted():
    table, malformed = _read(b"Income,Visits\n100,5,999\n200,6,999\n", ["Income", "Visits"])
    assert table.num_rows == 0
    assert malformed == [(2, 3), (3, 3)]


def test_a_header_without_a_line_end_has_no_rows():
    table, malformed = _read(b"a,b", ["a", "b"], header_ends=False)
    assert (table.num_rows, table.column_names, malformed) == (0, ["a", "b"], [])
