"""The browse order's shared pieces: which segment filters read as a segment id, and how a text column sorts."""

import pyarrow as pa
import pytest

from app.services.runs.ordering import column_order, segment_id_of, sort_values


@pytest.mark.parametrize(("segment", "expected"), [("0", 0), ("3", 3), ("007", 7), (str(2**63 - 1), 2**63 - 1)])
def test_plain_ascii_numbers_are_segment_ids(segment, expected):
    assert segment_id_of(segment) == expected


@pytest.mark.parametrize("segment", ["²", "١٢", "３", "-1", "1.0", " 1", "Champions", "", str(2**63)])
def test_anything_else_is_a_segment_name(segment):
    assert segment_id_of(segment) is None


def _sorted(values: list[str | None], *, comma: bool, descending: bool = False) -> list[str | None]:
    column = pa.chunked_array([pa.array(values, pa.string())])
    return [values[i] for i in column_order(sort_values(column, comma=comma), descending=descending)]


def test_a_decimal_comma_column_sorts_by_its_numbers_with_unreadable_values_last():
    values = ["95,7", "129,4", "n/a", "121,5", "", "92,6", None, "8"]
    assert _sorted(values, comma=True, descending=True) == ["129,4", "121,5", "95,7", "92,6", "8", "n/a", "", None]
    assert _sorted(values, comma=True) == ["8", "92,6", "95,7", "121,5", "129,4", "n/a", "", None]


def test_a_number_column_with_a_word_in_it_still_sorts_as_numbers():
    assert _sorted(["3", "12", "abc", "4", "7.5"], comma=False, descending=True) == ["12", "7.5", "4", "3", "abc"]


def test_decimal_commas_are_no_numbers_in_a_comma_separated_file():
    # The scorer reads "1,5" as no number unless the file used ';': the sort reads it the same way.
    assert _sorted(["2,5", "10", "9", "30"], comma=False) == ["9", "10", "30", "2,5"]


def test_a_text_column_sorts_as_text_even_with_a_number_in_it():
    assert _sorted(["Male", "Female", "7", "Female"], comma=False) == ["7", "Female", "Female", "Male"]
