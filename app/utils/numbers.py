"""The grammar of a number as people type it, shared by the pages and file scoring."""

import re

# ASCII digits, one optional point and exponent, no thousands separators. float() alone would also take "1_0" as 10
# and non-ASCII digits ("١٠", "１０"); regex engines' \d can take the latter too.
DECIMAL = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
# nan and inf, read so that a form can say "finite" rather than "not a number".
NON_FINITE = r"[+-]?(?:nan|inf|infinity)"

DECIMAL_OR_NON_FINITE = re.compile(f"{DECIMAL}|{NON_FINITE}", re.IGNORECASE)


def whole_number(text: str, *, max_digits: int = 18) -> int | None:
    """The whole number `text` writes in ASCII digits (at most `max_digits`, so it fits a 64-bit column), else None.

    str.isdigit() alone also takes "²" and "١", which int() then refuses."""
    if 0 < len(text) <= max_digits and text.isascii() and text.isdigit():
        return int(text)
    return None
