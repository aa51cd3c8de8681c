"""Log rows carry their segmentation and the callers' customer ids, from an answer or a scored file."""

import io
import os
import time
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from app.core import metrics
from app.services.monitoring.log_rows import COLUMNS, encode_rows, log_scores
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


def _mixed_chunks(model) -> list:
    """Single predictions and small batches as the writer meets them: with and without ids, arms, other clocks."""
    writer = RecordingWriter()
    for i in range(12):
        if i % 3:
            predict_customer(model, CUSTOMERS[i % 3]).record(log=writer, request_id=f"r-{i}")
        else:
            customers = CUSTOMERS[: 1 + i % 4] * 2
            answer = predict_customers(model, customers)
            answer.customer_ids = None if i % 2 else [f"id-{i}-{k}" if k % 2 else None for k in range(len(customers))]
            answer.record(log=writer, request_id=None)
    for i, chunk in enumerate(writer.chunks):
        if i % 4 == 1:
            chunk.created_at = datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=timezone(timedelta(hours=2)))
        if i % 5 == 2:
            chunk.arm, chunk.challenger_version = "challenger", "v-2"
            chunk.challenger_segment_ids = np.full(len(chunk), 3)
    return writer.chunks


@pytest.mark.parametrize("sqlite", [True, False])
def test_chunks_encoded_together_give_the_rows_each_gives_alone(model, sqlite):
    chunks = _mixed_chunks(model)
    alone = [row for chunk in chunks for row in chunk.tuples(sqlite=sqlite)]
    assert encode_rows(chunks, sqlite=sqlite)[1] == alone
    assert len(alone) == sum(map(len, chunks)) > len(chunks)
    # What each chunk alone gives, column by column.
    columns = [dict(zip(COLUMNS, row, strict=True)) for row in chunks[1].tuples(sqlite=sqlite)]
    assert [row["created_at"] for row in columns] == (
        ["2026-01-02 01:04:05.000678"] if sqlite else [datetime(2026, 1, 2, 1, 4, 5, 678, tzinfo=UTC)]
    )
    assert [(row["request_id"], row["arm"], row["challenger_segment_id"]) for row in columns] == [("r-1", None, None)]
    assert {type(row[COLUMNS.index("is_atypical")]) for row in alone} == {bool}
    batch = [dict(zip(COLUMNS, row, strict=True)) for row in chunks[0].tuples(sqlite=sqlite)]
    assert [row["customer_id"] for row in batch] == [None, "id-0-1"]
    assert [(row["arm"], row["challenger_segment_id"]) for row in batch] == [(None, None)] * 2
    shadow = [dict(zip(COLUMNS, row, strict=True)) for row in chunks[2].tuples(sqlite=sqlite)]
    assert [(row["arm"], row["challenger_version"], row["challenger_segment_id"]) for row in shadow] == [
        ("challenger", "v-2", 3)
    ]


def test_an_empty_chunk_among_single_rows_shifts_nothing(model):
    chunks = [c for c in _mixed_chunks(model) if len(c) == 1]
    empty = chunks[0].subset(np.zeros(1, dtype=bool))
    together = encode_rows([chunks[0], empty, *chunks[1:]], sqlite=True)[1]
    assert together == [row for chunk in chunks for row in chunk.tuples(sqlite=True)]


def test_per_row_values_of_the_wrong_length_are_refused_not_run_into_the_next_chunk(model):
    first, second = [c for c in _mixed_chunks(model) if len(c) == 1][:2]
    first.distances = [0.1, 0.2]
    with pytest.raises(ValueError, match="3 distances for 2 rows"):
        encode_rows([first, second], sqlite=True)
    with pytest.raises(ValueError, match="one chunk"):
        encode_rows([second, second], sqlite=True, shared=("source",))


def test_shared_columns_come_apart_once(model):
    (chunk,) = _mixed_chunks(model)[:1]
    shared = ("created_at", "source", "segmentation")
    values, rows = encode_rows([chunk], sqlite=True, shared=shared)
    assert values == (chunk.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"), "batch", "default")
    kept = [name for name in COLUMNS if name not in shared]
    alone = chunk.tuples(sqlite=True)
    assert rows == [tuple(v for name, v in zip(COLUMNS, row, strict=True) if name in kept) for row in alone]


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


@pytest.fixture
def new_york_clock():
    """A machine clock away from UTC: a naive time read as local time would move by five hours."""
    if not hasattr(time, "tzset"):
        pytest.skip("time zones are set per process only on POSIX")
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.mark.parametrize("sqlite", [True, False])
def test_a_naive_time_is_taken_to_be_utc_as_the_column_takes_it(model, sqlite, new_york_clock):
    (chunk,) = _mixed_chunks(model)[:1]
    chunk.created_at = datetime(2026, 1, 2, 3, 4, 5, 6)
    (stamp,) = {row[COLUMNS.index("created_at")] for row in chunk.tuples(sqlite=sqlite)}
    assert stamp == ("2026-01-02 03:04:05.000006" if sqlite else datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC))
