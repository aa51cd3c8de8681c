"""The one text check every CSV goes through: training files, uploads and CLI input alike."""

import pytest

from app.utils.csv_head import NotCsvText, decimal_point, decode_head


@pytest.mark.parametrize(
    ("head", "problem"),
    [
        (b"", "is empty"),
        (b" \r\n\t", "is empty"),
        (b"\xef\xbb\xbf\n", "is empty"),  # a BOM and nothing else
        (b"a,b\n1,\x002\n", "binary data"),
        (b"a,b\n\xff\xfe1,2\n" + b"x" * 10, "not UTF-8"),
    ],
)
def test_unusable_heads_say_what_is_wrong(head, problem):
    with pytest.raises(NotCsvText, match=problem) as caught:
        decode_head(head)
    assert problem in caught.value.problem


def test_a_head_is_text_without_its_bom_and_a_character_cut_at_the_end_is_dropped():
    assert decode_head("\ufeffannual_income,spending_score\n".encode()) == "annual_income,spending_score\n"
    cut = "a,b\n1,é".encode()[:-1]  # the read stopped inside the two-byte é
    assert decode_head(cut) == "a,b\n1,"


@pytest.mark.parametrize(
    ("value", "read"),
    [("1,5", "1.5"), ("-1,5e-05", "-1.5e-05"), ("1,5E+07", "1.5E+07"), ("1.234,5", "1.234,5"), ("1,5e", "1,5e")],
)
def test_decimal_point_reads_a_decimal_comma_with_or_without_an_exponent(value, read):
    assert decimal_point(value) == read
