"""Log rows carry their segmentation and the callers' customer ids, from an answer or a scored file."""

import io

import numpy as np
import pytest

from app.core import metrics
from app.services.monitoring.log_rows import COLUMNS, log_scores
from app.services.prediction import predict_customer, predict_customers
from app.services.scoring.csv_io import score_csv
from app.services.scoring.options import ScoreOptions
from app.services.scoring.spool import LogSpool, record_metrics
from tests.services.test_scoring import HEADER, RecordingWriter

SEGMENTATION, CUSTOMER_ID = COLUMNS.index("segmentation"), COLUMNS.index("customer_id")


def ids(row: tuple) -> tuple:
    """A row's segmentation and customer id."""
    return row[SEGMENTATION], row[CUSTOMER_ID]


CUSTOMERS = [
    {"customer_id": "C-1", "annual_income": 120.0, "spending_score": 90.0},
    {"annual_income": 20.0, "spending_score": 10.0},
    {"customer_id": 7, "annual_income": 60.0, "spending_score": 50.0},
]


@pytest.fixture
def counted(monkeypatch) -> list[dict]:
    """The calls to the metrics, kept instead of counted."""
    calls: list[dict] = []
    monkeypatch.setattr(metrics, "record_scores", lambda **call: calls.append(call))
    monkeypatch.setattr(metrics, "record_scored_size", lambda **call: calls.append(call))
    return calls


def test_an_answer_records_its_segmentation_and_customer_ids(model, counted):
    writer = RecordingWriter()
    answer = predict_customers(model, CUSTOMERS)
    answer.segmentation = "loyalty"
    answer.record(log=writer, request_id="r-1")
    (chunk,) = writer.chunks
    assert chunk.segmentation == "loyalty"
    assert [ids(row) for row in chunk.tuples(sqlite=True)] == [("loyalty", "C-1"), ("loyalty", None), ("loyalty", "7")]
    assert {call["segmentation"] for call in counted if "positions" in call} == {"loyalty"}


def test_an_answer_without_a_segmentation_is_the_defaults(model, counted):
    writer = RecordingWriter()
    predict_customer(model, {"annual_income": 55.0, "spending_score": 50.0}).record(log=writer, request_id=None)
    (chunk,) = writer.chunks
    assert ids(chunk.tuples(sqlite=False)[0]) == ("default", None)
    assert [call["segmentation"] for call in counted] == ["default"]


def test_customer_ids_stay_with_their_rows_when_sampled(model):
    writer = RecordingWriter()
    answer = predict_customers(model, CUSTOMERS)
    answer.customer_ids = ["a", "b", "c"]
    answer.record(log=writer, request_id=None)
    chunk = writer.chunks[0].subset(np.array([True, False, True]))
    rows = chunk.tuples(sqlite=True)
    assert [row[CUSTOMER_ID] for row in rows] == ["a", "c"]
    assert [row[2] for row in rows] == [[120.0, 90.0], [60.0, 50.0]]


def test_as_many_customer_ids_as_rows_or_a_clear_error(model):
    answer = predict_customers(model, CUSTOMERS)
    with pytest.raises(ValueError, match="2 customer ids for 3 predictions"):
        log_scores(
            RecordingWriter(), model, answer.X, answer.scores, request_id=None, source="batch", customer_ids=["a", "b"]
        )


def test_a_scored_files_rows_and_metrics_carry_its_segmentation(model, counted):
    writer = RecordingWriter()
    spool = LogSpool(writer, model=model, max_rows=1_000, request_id="r-2", segmentation="loyalty")
    rows = [f"{i},Male,30,{10 + i % 120},{1 + i % 99}" for i in range(50)]
    summary = score_csv(
        model, io.BytesIO(("\n".join([HEADER, *rows]) + "\n").encode()), io.BytesIO(), options=ScoreOptions(),
        on_scored=spool.add,
    )  # fmt: skip
    spool.release()
    record_metrics(summary, segmentation="loyalty")
    assert sum(len(chunk) for chunk in writer.chunks) == 50
    assert {row[SEGMENTATION] for chunk in writer.chunks for row in chunk.tuples(sqlite=True)} == {"loyalty"}
    assert {call["segmentation"] for call in counted} == {"loyalty"}
    assert [call["customers"] for call in counted if "customers" in call] == [50]


def test_a_scored_files_rows_carry_the_customer_ids_of_its_id_column(model):
    writer = RecordingWriter()
    spool = LogSpool(writer, model=model, max_rows=120, request_id=None)
    rows = [f"id-{i},Male,30,{10 + i % 120},{1 + i % 99}" for i in range(150)]
    rows[3] = "id-3,Male,30,,50"  # unusable: flagged, never logged, and the ids after it stay with their rows
    text = "\n".join([HEADER, *rows]) + "\n"
    options = ScoreOptions(on_error="flag", chunk_rows=40)
    score_csv(model, io.BytesIO(text.encode()), io.BytesIO(), options=options, on_scored=spool.add)
    spool.release()
    logged = [row for chunk in writer.chunks for row in chunk.tuples(sqlite=True)]
    expected = [f"id-{i}" for i in range(150) if i != 3][:120]
    assert [row[CUSTOMER_ID] for row in logged] == expected
    # Each id is logged with its own row's inputs.
    assert [row[2] for row in logged[:4]] == [[10.0, 1.0], [11.0, 2.0], [12.0, 3.0], [14.0, 5.0]]
    assert spool.dropped == 29
