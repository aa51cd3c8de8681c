"""The labelled file: rounded confidence, the input's line ends, a BOM for Excel, extra columns and errors in the
user's words; options reach it from a query as the API and the /score page send them."""

from tests.services.test_scoring import run


def test_score_errors_name_the_mapped_column(model):
    text = "ref,revenue,score\nA,,50\nB,lots,50\nC,20,500\n"
    _, summary, _ = run(model, text, income_column="revenue", spending_column="score")
    assert summary["errors"] == {
        "missing revenue": 1,
        "revenue is not a number": 1,
        "score out of range (1 to 100)": 1,
    }
