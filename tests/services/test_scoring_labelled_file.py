"""The labelled file: rounded confidence, the input's line ends, a BOM for Excel, extra columns and errors in the
user's words; options reach it from a query as the API and the /score page send them."""

import csv
import io
import typing

import pytest

from app.core.errors import InvalidRequest
from app.schemas.scoring import ExtraColumn, ScoreQuery
from app.services.scoring.files import score_file
from app.services.scoring.options import ScoreOptions, score_options
from app.services.scoring.score_columns import EXTRA_COLUMNS, SCORE_COLUMNS
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


def test_score_appends_the_extra_columns_asked_for(model):
    rows, _, output = run(model, HEADER + "\n" + ROWS, extra_columns=("marketing_strategy", "runner_up"))
    header = output.splitlines()[0].split(",")
    # After the score columns, in the table's order (not the asking order), before `error`.
    assert header[-4:] == ["out_of_range", "runner_up", "marketing_strategy", "error"]
    scores = model.score([[120, 90], [20, 10]])
    for row, position, runner_up in zip((rows[0], rows[2]), scores.positions, scores.runner_up, strict=True):
        assert row["runner_up"] == model.segments[runner_up].name != row["segment_name"]
        assert row["marketing_strategy"] == "; ".join(model.segments[position].strategy)
    assert rows[1]["runner_up"] == rows[1]["marketing_strategy"] == ""  # a flagged row has no segment


def test_score_appends_the_segment_description(model):
    rows, _, _ = run(model, "annual_income,spending_score\n120,90\n", extra_columns=("description",), on_error="skip")
    vip = next(segment for segment in model.segments if segment.name == rows[0]["segment_name"])
    assert rows[0]["description"] == vip.description
    assert list(rows[0])[-1] == "description"


def test_score_refuses_extra_columns_the_file_already_has(model):
    text = "annual_income,spending_score,description\n120,90,loyal\n"
    rows, _, _ = run(model, text)  # the file's own column is kept when nothing is added
    assert rows[0]["description"] == "loyal"
    with pytest.raises(
        InvalidRequest, match=r"already has the column\(s\) description that extra_columns= asks to add"
    ):
        run(model, text, extra_columns=("description",))


def test_score_options_refuse_unknown_extra_columns():
    with pytest.raises(InvalidRequest, match="extra_columns may name runner_up, description, marketing_strategy"):
        ScoreOptions(extra_columns=("segment_id",))


def test_schema_names_the_same_extra_columns_as_the_service():
    assert typing.get_args(ExtraColumn) == EXTRA_COLUMNS
    assert not set(EXTRA_COLUMNS) & set(SCORE_COLUMNS)


def test_score_errors_name_the_mapped_column(model):
    text = "ref,revenue,score\nA,,50\nB,lots,50\nC,20,500\n"
    _, summary, _ = run(model, text, income_column="revenue", spending_column="score")
    assert summary["errors"] == {
        "missing revenue": 1,
        "revenue is not a number": 1,
        "score out of range (1 to 100)": 1,
    }


def test_score_file_takes_the_options_of_a_query(model, tmp_path):
    # The /score page's path: its form validated as the API's query, then score_options and score_file.
    source = tmp_path / "customers.csv"
    source.write_bytes(b"annual_income,spending_score,note\r\n120,90,=1+1\r\n20,10,-5\r\n")
    query = ScoreQuery.model_validate(
        {"formula_guard": "false", "excel": "true", "extra_columns": ["runner_up"], "on_error": "reject"}
    )
    target = tmp_path / "labelled.csv"
    score_file(model, source, options=score_options(query=query), target=target, spool_rows=0)
    data = target.read_bytes()
    assert data.startswith("\ufeffannual_income,".encode()) and data.count(b"\r\n") == 3
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [row["note"] for row in rows] == ["=1+1", "-5"]
    assert rows[0]["runner_up"] and "error" not in rows[0]
    default = score_options(query=ScoreQuery())
    score_file(model, source, options=default, target=target, spool_rows=0)
    guarded = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [row["note"] for row in guarded] == ["'=1+1", "-5"]
    assert not target.read_bytes().startswith("\ufeff".encode())
