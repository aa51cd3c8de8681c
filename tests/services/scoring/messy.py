"""A generated customer file with every kind of trouble the scorer handles: bad numbers, quoting, formulas, ids."""

import numpy as np

HEADER = ["CustomerID", "Gender", "Age", "Annual Income (k$)", "Spending Score (1-100)", "Note"]
NOTES = [
    "",
    "plain",
    "has, comma",
    'says "hi"',
    "two\nlines",
    "crlf\r\nvalue",
    "=SUM(A1)",
    "+cmd|x",
    "-5",
    "@home",
    " spaced ",
    "semi;colon",
    "éàü ✓",
]
INCOMES = ["15", "70", "137", "", "abc", "1e400", "-3", "99999", " 42 ", "42.5", "inf", "nan", "3,5"]


def messy_csv(rows: int, *, seed: int = 0, delimiter: str = ",", line_end: str = "\n", bom: bool = False) -> bytes:
    """`rows` customer rows (and a few malformed ones), mostly good, with a bad value or odd text now and then."""
    rng = np.random.default_rng(seed)
    lines = [delimiter.join(HEADER)]
    for i in range(rows):
        odd = rng.random() < 0.3
        ident = f"{i + 1}.0" if rng.random() < 0.2 else str(i + 1)
        gender = rng.choice(["Male", "Female", "female ", "", "=1+1"]) if odd else "Female"
        income = rng.choice(INCOMES) if odd and rng.random() < 0.5 else f"{rng.uniform(15, 137):.{rng.integers(4)}f}"
        score = f"{rng.uniform(1, 99):.1f}" if rng.random() < 0.5 else str(rng.integers(1, 99))
        if delimiter == ";":  # a ';' file writes decimal commas
            income, score = income.replace(".", ","), score.replace(".", ",")
        note = str(rng.choice(NOTES)) if odd else ""
        cells = [ident, str(gender), str(rng.integers(18, 70)), str(income), score, note]
        quoted = [_quoted(cell, delimiter) for cell in cells]
        # A row with a field too many or too few (one spanning lines would be a quote that never closes: refused).
        if rng.random() < 0.01 and "\n" not in note and "\r" not in note:
            quoted = [*quoted, "extra"] if rng.random() < 0.5 else quoted[:3]
        lines.append(delimiter.join(quoted))
    text = line_end.join(lines) + line_end
    return ("\ufeff" if bom else "").encode() + text.encode()


def _quoted(cell: str, delimiter: str) -> str:
    """A cell as a spreadsheet writes it: quoted when it holds the delimiter, a quote, a line break or leading space."""
    if any(char in cell for char in (delimiter, '"', "\n", "\r")) or cell.startswith(" "):
        return '"' + cell.replace('"', '""') + '"'
    return cell
