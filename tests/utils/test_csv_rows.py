"""The one Arrow reading of the records below a CSV header: text cells, malformed records counted, never split."""

import io

import pyarrow as pa
import pytest

from app.utils.csv_rows import Malformed, UnreadableRows, open_rows, read_rows, unclosed_quote_text


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


def test_read_rows_counts_malformed_records_and_numbers_the_first_by_its_line():
    data = b'a,b\n"x\ny",1\n2,3,4\n5\n6,7\n'
    rows = read_rows(data, names=["a", "b"], delimiter=",")
    assert rows.table.to_pydict() == {"a": ["x\ny", "6"], "b": ["1", "7"]}
    # Record 3 starts on line 4: the quoted value before it spans two lines.
    assert rows.malformed == Malformed(count=2, line=4, fields=3)
    # Four records and one line break inside a value.
    assert rows.lines == 5


def test_read_rows_reads_only_the_columns_asked_for_and_still_counts_every_field():
    rows = read_rows(b"a,b,c\n1,2,3\n4,5\n", names=["a", "b", "c"], delimiter=",", include=["a"])
    # The last column is read too: a quote left open there runs to the end of the file.
    assert rows.table.column_names == ["a", "c"] and rows.table.num_rows == 1
    assert rows.malformed == Malformed(count=1, line=3, fields=2)


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b'a,b\n1,2\n"x,3\n4,5\n', 3, "line 3: a quote opens a value that runs over 2 lines without closing"),
        (b'a,b\n1,"x\n2,3\n', 2, "line 2: a quote in column 'b' opens a value that runs over 2 lines"),
        (b'a,b\n1,2\n"x,3\n', 3, "line 3: a quote opens a value that runs over 1 line without closing"),
    ],
)
def test_read_rows_refuses_a_quote_that_never_closes_at_its_line(data, line, message):
    with pytest.raises(UnreadableRows) as refused:
        read_rows(data, names=["a", "b"], delimiter=",")
    assert refused.value.problem.startswith(message) and refused.value.line == line


def test_read_rows_says_text_that_is_not_utf8_in_the_users_terms():
    with pytest.raises(UnreadableRows) as refused:
        read_rows(b"a,b\n1,\xff\n", names=["a", "b"], delimiter=",", label="data.csv")
    assert refused.value.problem == (
        "data.csv is not UTF-8 text (line 2: the byte 0xFF, 'ÿ' in Windows-1252 as Excel saves \"CSV (Comma "
        'delimited)"); in Excel use Save As, "CSV UTF-8 (Comma delimited)", and send that file'
    )
    assert refused.value.line == 2


def test_a_problem_found_in_a_block_moves_to_its_place_in_the_file():
    problem = UnreadableRows(unclosed_quote_text("line 3", 2), line=3)
    moved = problem.moved(lines=100, rows=90)
    assert moved.line == 103 and moved.problem.startswith("line 103: a quote opens")
    long_row = UnreadableRows("a row after the first 1,200 is longer than 128 KiB: ...", rows=1_200)
    assert long_row.moved(lines=5, rows=1_000).problem == "a row after the first 2,200 is longer than 128 KiB: ..."
