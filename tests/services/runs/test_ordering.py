"""The browse order's shared pieces: which segment filters read as a segment id."""

import pytest

from app.services.runs.ordering import segment_id_of


@pytest.mark.parametrize(("segment", "expected"), [("0", 0), ("3", 3), ("007", 7), (str(2**63 - 1), 2**63 - 1)])
def test_plain_ascii_numbers_are_segment_ids(segment, expected):
    assert segment_id_of(segment) == expected


@pytest.mark.parametrize("segment", ["²", "١٢", "３", "-1", "1.0", " 1", "Champions", "", str(2**63)])
def test_anything_else_is_a_segment_name(segment):
    assert segment_id_of(segment) is None
