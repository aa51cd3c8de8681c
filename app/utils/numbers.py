"""The grammar of a number as people type it, shared by the pages and file scoring, and a number as they read it."""

import math
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


# Significant digits a report shows: enough to tell segments apart, few enough to read at a glance.
READABLE_DIGITS = 4
# Below this (and from this up) fixed notation is a row of zeros: scientific notation is the readable form.
_TINY, _HUGE = 1e-4, 1e15


def readable(value: float) -> str:
    """30,570 and 0.0412 (four significant digits, thousands separated, fixed notation); 1.25e-7 only for the tiny
    and the huge."""
    if not math.isfinite(value) or value == 0:
        return "0" if value == 0 else str(value)
    if not _TINY <= abs(value) < _HUGE:
        mantissa, exponent = f"{value:.{READABLE_DIGITS - 1}e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    decimals = READABLE_DIGITS - 1 - math.floor(math.log10(abs(value)))
    rounded = round(value, decimals) + 0.0  # + 0.0: no "-0"
    text = f"{rounded:,.{max(decimals, 0)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fixed(value: float, decimals: int) -> str:
    """A number with `decimals` decimals, thousands separated (61.5, 12,345.0); from 1e15 up (and for a non-finite
    one) as `readable` gives it (1e22), where fixed notation would print float noise (9999999999800000905216.0)."""
    if math.isfinite(value) and abs(value) < _HUGE:
        return f"{value:,.{decimals}f}"
    return readable(value)
