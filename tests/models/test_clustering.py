"""Clustering primitives: how a requested number of segments is read."""

import pytest

from app.models.clustering import parse_k


@pytest.mark.parametrize(("text", "k"), [("5", 5), (" 10 ", 10), ("2", 2), ("AUTO", "auto"), ("auto", "auto")])
def test_parse_k_reads_plain_digits_and_auto(text, k):
    assert parse_k(text) == k


@pytest.mark.parametrize("text", ["1_0", "\u0665", "\u0661\u0660", "+5", "5.0", "", "five", "\uff15"])
def test_parse_k_refuses_anything_but_the_digits_0_to_9(text):
    with pytest.raises(ValueError, match=r"^k must be 'auto' or a whole number written with the digits 0-9$"):
        parse_k(text)


@pytest.mark.parametrize("text", ["1", "11", "0"])
def test_parse_k_refuses_numbers_outside_the_range(text):
    with pytest.raises(ValueError, match=r"^k must be between 2 and 10$"):
        parse_k(text)
