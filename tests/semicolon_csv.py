"""A comma-separated file as a spreadsheet in a decimal-comma locale saves it: what `;` files are tested with."""

import csv
import io
import re

BOM = "\ufeff".encode()
DECIMAL = re.compile(r"[+-]?[0-9]+\.[0-9]+")


def excel_style(data: bytes) -> bytes:
    """The same CSV with `;`, CRLF line ends, a BOM, and decimal commas in its plain decimal numbers."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")):
        writer.writerow([cell.replace(".", ",") if DECIMAL.fullmatch(cell) else cell for cell in row])
    return BOM + out.getvalue().encode()
