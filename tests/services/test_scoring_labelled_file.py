"""The labelled file: rounded confidence, the input's line ends, a BOM for Excel, extra columns and errors in the
user's words; options reach it from a query as the API and the /score page send them."""

import pytest

from tests.services.test_scoring import HEADER, run

ROWS = "1,Male,30,120,90\n2,Female,40,,50\n3,Female,20,20,10\n"


def test_score_writes_confidence_to_four_decimals(model):
    rows, _, _ = run(model, HEADER + "\n" + ROWS)
    scored = [row for row in rows if row["confidence"]]
    confidences = model.score([[120, 90], [20, 10]]).confidence
    assert [row["confidence"] for row in scored] == [f"{value:.4f}".rstrip("0").rstrip(".") for value in confidences]


@pytest.mark.parametrize("line_end", ["\r\n", "\n"])
def test_score_keeps_the_input_line_ends(model, line_end):
    text = (HEADER + "\n" + ROWS).replace("\n", line_end)
    _, _, output = run(model, text)
    assert output.count(line_end) == 4
    assert line_end == "\r\n" or "\r" not in output


@pytest.mark.parametrize(("bom", "excel", "written"), [(False, False, False), (False, True, True), (True, False, True)])
def test_score_starts_with_a_bom_for_excel_or_when_the_input_had_one(model, bom, excel, written):
    text = ("\ufeff" if bom else "") + HEADER + "\n" + ROWS
    rows, _, output = run(model, text.encode(), excel=excel)
    assert output.startswith("\ufeffCustomerID,") is written
    assert output.count("\ufeff") == written
    assert [row["CustomerID"] for row in rows] == ["1", "2", "3"]


def test_score_errors_name_the_mapped_column(model):
    text = "ref,revenue,score\nA,,50\nB,lots,50\nC,20,500\n"
    _, summary, _ = run(model, text, income_column="revenue", spending_column="score")
    assert summary["errors"] == {
        "missing revenue": 1,
        "revenue is not a number": 1,
        "score out of range (1 to 100)": 1,
    }
