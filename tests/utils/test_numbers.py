from app.utils.numbers import whole_number


def test_whole_numbers_are_ascii_digits_that_fit_a_64_bit_column():
    assert whole_number("0") == 0
    assert whole_number("42") == 42
    assert whole_number("9" * 18) == int("9" * 18)
    for text in ("", "-1", "+1", "1.0", " 1", "²", "١٠", "１０", "9" * 19, "1_000"):
        assert whole_number(text) is None, text
