"""Download names: letters of any script kept in RFC 5987's filename*, an ASCII filename= for every client."""

import re
from urllib.parse import unquote

import pytest

from app.utils.downloads import content_disposition, safe_name

# What a client reads: filename="ascii", then (for other scripts) filename*=UTF-8''percent-encoded.
HEADER = re.compile(
    r"""^(attachment|inline); filename="([A-Za-z0-9._-]+)"(?:; filename\*=UTF-8''([A-Za-z0-9%._~-]+))?$"""
)


def _parts(header: str) -> tuple[str, str, str | None]:
    match = HEADER.match(header)
    assert match, header
    kind, fallback, encoded = match.groups()
    return kind, fallback, unquote(encoded) if encoded else None


@pytest.mark.parametrize(
    ("name", "fallback", "utf8"),
    [
        ("клиенты 2024_segmented.csv", "2024_segmented.csv", "клиенты_2024_segmented.csv"),
        ("клиенты_segmented.csv", "segmented.csv", "клиенты_segmented.csv"),
        ("Café Olé_segmented.csv", "Cafe_Ole_segmented.csv", "Café_Olé_segmented.csv"),
        ("मराठी ग्राहक.csv", "download.csv", "मराठी_ग्राहक.csv"),  # vowel signs are marks, and kept
        ("顧客.csv", "download.csv", "顧客.csv"),
        ("customers_segmented.csv", "customers_segmented.csv", None),
    ],
)
def test_a_name_in_any_script_is_offered_whole_with_an_ascii_fallback(name, fallback, utf8):
    assert _parts(content_disposition(name)) == ("attachment", fallback, utf8)


@pytest.mark.parametrize(
    "name", ['a"b.csv', "a/b\\c.csv", "a\r\nSet-Cookie: x=1.csv", "a\x00b.csv", "evil\u202egpj.exe.csv", "😀 x;y.csv"]
)
def test_quotes_separators_controls_and_format_characters_never_reach_the_header(name):
    header = content_disposition(name)
    _, fallback, utf8 = _parts(header)
    for shown in (fallback, utf8 or ""):
        assert not set(shown) & set('"/\\\r\n\x00\u202e;😀 ')


def test_an_inline_document_keeps_its_name():
    assert content_disposition("segment-report-default-20261126.165110-95dfbc16.pdf", inline=True) == (
        'inline; filename="segment-report-default-20261126.165110-95dfbc16.pdf"'
    )


def test_a_long_name_fits_a_file_systems_name_limit():
    name = safe_name("клиенты " * 40)
    assert name.startswith("клиенты_клиенты") and len(name.encode()) <= 150 and not name.endswith("_")
    assert safe_name("../../etc/passwd") == "etc_passwd" and safe_name("…") == ""
