"""The prediction service: single and batch answers agree, in input order, from one scoring path."""

import json

import numpy as np
import pytest

from app.core import metrics
from app.core.errors import InvalidRequest
from app.schemas.prediction import BatchIn, PlainCustomers
from app.services.prediction import feature_matrix, predict_customer, predict_customers
from tests.services.test_scoring import RecordingWriter


def test_batch_equals_single_for_every_customer(model):
    rng = np.random.default_rng(7)
    customers = [
        {"annual_income": float(i), "spending_score": float(s)}
        for i, s in zip(rng.uniform(0, 400, 300), rng.uniform(1, 100, 300), strict=True)
    ]
    batch = predict_customers(model, customers).body
    assert batch["count"] == len(customers)
    for customer, answer in zip(customers, batch["predictions"], strict=True):
        single = predict_customer(model, customer).body
        assert single["segment_id"] == answer["segment_id"]
        assert single["distances"] == pytest.approx(answer["distances"], rel=1e-12)
        assert single["confidence"] == pytest.approx(answer["confidence"], rel=1e-12)
        assert (single["is_atypical"], single["out_of_range"]) == (answer["is_atypical"], answer["out_of_range"])
    counts = {item["segment_id"]: item["count"] for item in batch["segment_counts"]}
    assert sum(counts.values()) == len(customers)
    assert counts == {
        s.segment_id: sum(p["segment_id"] == s.segment_id for p in batch["predictions"]) for s in model.segments
    }


def test_confidence_is_one_at_a_centroid_and_runner_up_is_the_second_nearest(model):
    for segment in model.segments:
        answer = predict_customer(model, segment.centroid).body
        assert answer["segment_id"] == segment.segment_id
        assert answer["confidence"] == pytest.approx(1.0, abs=1e-9)
        others = {int(k): v for k, v in answer["distances"].items() if int(k) != segment.segment_id}
        assert answer["runner_up"]["segment_id"] == min(others, key=others.get)


def test_a_plain_batch_is_scored_from_the_numbers_its_reader_checked(model):
    rng = np.random.default_rng(3)
    values = rng.uniform([0, 1], [140, 100], (50, 2))
    rows = [{"annual_income": int(a), "spending_score": round(float(s), 1)} for a, s in values]
    rows[1]["customer_id"] = "C-2"
    customers = BatchIn.from_plain_json(json.dumps({"customers": rows}).encode()).customers
    read = feature_matrix(model, [dict(customer) for customer in customers])  # a plain list: every value read
    assert isinstance(customers, PlainCustomers)
    assert feature_matrix(model, customers) is customers.numbers
    assert customers.numbers.dtype == np.float64 and np.array_equal(customers.numbers, read)
    assert (
        predict_customers(model, customers, rendered=True).json
        == predict_customers(model, [dict(customer) for customer in customers], rendered=True).json
    )


def test_a_missing_feature_is_a_domain_error(model):
    with pytest.raises(InvalidRequest, match="spending_score"):
        feature_matrix(model, [{"annual_income": 10.0}])
    with pytest.raises(InvalidRequest, match="spending_score"):
        predict_customer(model, {"annual_income": 10.0})


@pytest.fixture
def counted(monkeypatch) -> list[dict]:
    """The calls the prediction service makes to the metrics, kept instead of counted."""
    calls: list[dict] = []
    monkeypatch.setattr(metrics, "record_scores", lambda **call: calls.append(call))
    return calls


@pytest.mark.parametrize("batch", [False, True])
def test_predictions_are_recorded_only_when_the_caller_records_them(model, counted, batch):
    customers = [{"annual_income": 120.0, "spending_score": 90.0}, {"annual_income": 20.0, "spending_score": 10.0}]
    answer = predict_customers(model, customers) if batch else predict_customer(model, customers[0])
    writer = RecordingWriter()
    assert counted == [] and writer.chunks == []  # computing the answer counts and logs nothing

    answer.record(log=writer, request_id="r-9")
    source = "batch" if batch else "single"
    assert [(call["source"], len(call["positions"])) for call in counted] == [(source, len(customers) if batch else 1)]
    assert [(chunk.source, chunk.request_id, len(chunk)) for chunk in writer.chunks] == [
        (source, "r-9", len(customers) if batch else 1)
    ]
    predictions = answer.body["predictions"] if batch else [answer.body]
    assert [int(i) for i in writer.chunks[0].segment_ids] == [p["segment_id"] for p in predictions]


def test_recording_without_a_log_only_counts(model, counted):
    predict_customer(model, {"annual_income": 55.0, "spending_score": 50.0}).record(log=None, request_id=None)
    assert len(counted) == 1
