"""White space the schemas' patterns state and the server trims: the same set, under every reading of a pattern."""

import re

import pytest
from pydantic import TypeAdapter, ValidationError

from app.core.errors import InvalidRequest
from app.schemas.accounts import NewPassword
from app.schemas.prediction import TextId
from app.services.accounts.users import check_password
from app.utils.text import SPACE_CLASS, SPACES

ALL = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
# ECMA-262's \s, which JSON Schema's patterns mean: what Python reads as space too, plus the byte order mark.
ECMA_SPACES = set("\t\n\x0b\x0c\r \xa0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff") | {
    chr(c) for c in range(0x2000, 0x200B)
}
# Odd spaces a fuzzer reading \S as ASCII would put where the schema wants a visible character.
ODD = ["\xa0", "\u2003", "\u3000", "\u2028", "\x1c", "\x85", "\ufeff"]


@pytest.mark.parametrize("flags", [0, re.ASCII])
def test_the_space_class_means_the_trimmed_spaces_under_any_reading(flags):
    spelled = re.compile(f"[{SPACE_CLASS}]", flags)
    assert {c for c in ALL if spelled.match(c)} == set(SPACES)
    assert set(SPACES) == ECMA_SPACES & {c for c in ALL if c.isspace()}


@pytest.mark.parametrize("odd", ODD)
@pytest.mark.parametrize("flags", [0, re.ASCII])
def test_a_password_the_schema_pattern_takes_is_long_enough_for_the_server(odd, flags):
    pattern = re.compile(TypeAdapter(NewPassword).json_schema()["pattern"], flags)
    for password in (odd + "abcdefgh" + odd, odd + "abcdefghij" + odd, " abcdefghij ", odd * 10):
        taken = pattern.fullmatch(password) is not None
        try:
            check_password(password)
            accepted = True
        except InvalidRequest:
            accepted = False
        assert taken == accepted, repr(password)


@pytest.mark.parametrize("odd", ODD)
@pytest.mark.parametrize("flags", [0, re.ASCII])
def test_a_text_id_the_schema_pattern_takes_is_never_blank_to_the_server(odd, flags):
    pattern = re.compile(TypeAdapter(TextId).json_schema()["pattern"], flags)
    for text in (odd, odd * 3, f"{odd}C-1{odd}"):
        taken = pattern.fullmatch(text) is not None
        try:
            TypeAdapter(TextId).validate_python(text)
            accepted = True
        except ValidationError:
            accepted = False
        assert taken == accepted, repr(text)
