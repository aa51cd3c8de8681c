"""The labelled file: rounded confidence, the input's line ends, a BOM for Excel, extra columns and errors in the
user's words; options reach it from a query as the API and the /score page send them."""

from tests.services.test_scoring import HEADER, run

ROWS = "1,Male,30,120,90\n2,Female,40,,50\n3,Female,20,20,10\n"


def test_score_writes_confidence_to_four_decimals(model):
    rows, _, _ = run(model, HEADER + "\n" + ROWS)
    scored = [row for row in rows if row["confidence"]]
    confidences = model.score([[120, 90], [20, 10]]).confidence
    assert [row["confidence"] for row in scored] == [f"{value:.4f}".rstrip("0").rstrip(".") for value in confidences]


def test_score_errors_name_the_mapped_column(model):
    text = "ref,revenue,score\nA,,50\nB,lots,50\nC,20,500\n"
    _, summary, _ = run(model, text, income_column="revenue", spending_column="score")
    assert summary["errors"] == {
        "missing revenue": 1,
        "revenue is not a number": 1,
        "score out of range (1 to 100)": 1,
    }
