"""Quoting untrusted text: cut to a bound, control characters visible."""

import pytest

from app.utils.text import clip, escape_controls, hidden_or_line_breaking_char, noun, safe_text


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


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("spring export", None),
        ("printemps — été ✓, نسخة", None),
        ("non\u00a0breaking space", None),  # an odd space is no line break, and a reason may hold one
        ("क्\u200dष", None),  # a joiner inside a word holds its spelling together
        ("a\r\nBcc: x", "\r"),
        ("tab\there", "\t"),
        ("\x7f", "\x7f"),
        ("line\u2028separator", "\u2028"),
        ("para\u2029graph", "\u2029"),
        ("zero\u200bwidth", "\u200b"),
        ("\u202eoverride", "\u202e"),
    ],
)
def test_hidden_or_line_breaking_char_finds_what_could_forge_a_line_or_hide(text, found):
    assert hidden_or_line_breaking_char(text) == found
