import pytest

from app.utils.numbers import fixed, readable, whole_number


def test_whole_numbers_are_ascii_digits_that_fit_a_64_bit_column():
    assert whole_number("0") == 0
    assert whole_number("42") == 42
    assert whole_number("9" * 18) == int("9" * 18)
    for text in ("", "-1", "+1", "1.0", " 1", "²", "١٠", "１０", "9" * 19, "1_000"):
        assert whole_number(text) is None, text


def test_readable_numbers_are_fixed_with_separators_and_four_significant_digits():
    # f"{x:,.4g}" wrote 3.057e+04 for every number of 10,000 or more.
    assert readable(30_570.4) == "30,570"
    assert readable(24_037.0) == "24,040"
    assert readable(1_234_567.8) == "1,235,000"
    assert readable(9_999.6) == "10,000"
    assert readable(45.0) == "45"
    assert readable(12.5) == "12.5"
    assert readable(0.1 + 0.2) == "0.3"
    assert readable(0.04123) == "0.04123"
    assert readable(-0.0) == readable(0.0) == "0"
    assert readable(-52.25) == "-52.25"
    # Only the tiny and the huge are scientific, written short.
    assert readable(1.25e-7) == "1.25e-7"
    assert readable(3.2e15) == "3.2e15"


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (61.54, 1, "61.5"),
        (12_345.67, 1, "12,345.7"),
        (-999_999_999_999.0, 0, "-999,999,999,999"),
        (9999999999800000905216.0, 1, "1e22"),  # never the float's noise digits
        (float("inf"), 0, "inf"),
    ],
)
def test_fixed_separates_thousands_and_reads_the_huge_in_scientific_notation(value, decimals, text):
    assert fixed(value, decimals) == text
