"""Quoting untrusted text: cut to a bound, control characters visible."""

import pytest

from app.utils.text import clip, escape_controls, noun, safe_text


def test_clip_keeps_short_text_and_cuts_long_text_to_the_bound():
    assert clip("abc", 3) == "abc"
    assert clip("abcd", 3) == "ab…"
    assert len(clip("x" * 1_000_000, 64)) == 64


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a\nb", "a\\nb"),
        ("a\r\tb", "a\\r\\tb"),
        ("\x1b[31m", "\\x1b[31m"),
        ("\x00\x7f\x85\x9f", "\\x00\\x7f\\x85\\x9f"),
        ("\u2028\u2029\u202e\u2066", "\\u2028\\u2029\\u202e\\u2066"),
        ("café ✓ 名前", "café ✓ 名前"),
    ],
)
def test_escape_controls_makes_every_control_character_visible(raw, escaped):
    assert escape_controls(raw) == escaped


def test_safe_text_escapes_then_bounds_without_reading_the_whole_input():
    assert safe_text("\n" * 10, 5) == "\\n\\n…"
    assert len(safe_text("k" * 2_000_000, 1_000)) == 1_000


@pytest.mark.parametrize(("count", "word"), [(0, "customers"), (1, "customer"), (2, "customers"), (1_000, "customers")])
def test_a_noun_agrees_with_its_count(count, word):
    assert noun(count, "customer") == word
    assert noun(count, "child", "children") == ("child" if count == 1 else "children")
