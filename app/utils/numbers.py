"""The grammar of a number as people type it, shared by the pages and file scoring."""

import re

# ASCII digits, one optional point and exponent, no thousands separators. float() alone would also take "1_0" as 10
# and non-ASCII digits ("١٠", "１０"); regex engines' \d can take the latter too.
DECIMAL = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
# nan and inf, read so that a form can say "finite" rather than "not a number".
NON_FINITE = r"[+-]?(?:nan|inf|infinity)"

DECIMAL_OR_NON_FINITE = re.compile(f"{DECIMAL}|{NON_FINITE}", re.IGNORECASE)
