"""Batch answers rendered column-wise to JSON: byte for byte what orjson makes of the answer dicts."""

from dataclasses import replace

import numpy as np
import orjson
import pytest

from app.services.prediction import predict_customers
from app.services.segmentation_predictions import predict_many_by_features


def _customers(model, rng: np.random.Generator, n: int, *, ids: str) -> list[dict]:
    """Random customers over and beyond the training range (some out of range), with ids of mixed kinds."""
    low, high = model.training_range
    span = high - low
    values = rng.uniform(low - 0.5 * span, high + 0.5 * span, (n, len(model.features)))
    customers = [dict(zip(model.features, row, strict=True)) for row in values.tolist()]
    for index, customer in enumerate(customers):
        if ids == "mixed" and index % 3:
            customer["customer_id"] = f"c-{index}" if index % 2 else index
        elif ids == "all":
            customer["customer_id"] = f'é"{index}'
    return customers


@pytest.mark.parametrize("explained", [False, True])
@pytest.mark.parametrize("ids", ["none", "mixed", "all"])
@pytest.mark.parametrize("seed", [1, 2])
def test_rendered_batch_has_the_same_bytes_as_the_dicts(model, explained, ids, seed):
    customers = _customers(model, np.random.default_rng(seed), 400, ids=ids)
    old = predict_customers(model, customers, explained=explained)
    new = predict_customers(model, customers, explained=explained, rendered=True)
    assert any(prediction["out_of_range"] for prediction in old.body["predictions"])
    assert new.json == orjson.dumps(old.body)
    assert new.body == {}
    # Recording needs the scores and rows, not the body: the rendered answer records the same predictions.
    assert new.customer_ids == old.customer_ids
    assert np.array_equal(new.scores.positions, old.scores.positions)


def test_rendered_batch_of_one_segment_model_says_no_runner_up(model):
    first = model.segments[0]
    single = replace(
        model, cluster_centers=model.cluster_centers[[first.kmeans_label]], segments=[replace(first, kmeans_label=0)]
    )
    customers = _customers(single, np.random.default_rng(3), 50, ids="mixed")
    old = predict_customers(single, customers)
    new = predict_customers(single, customers, rendered=True)
    assert old.body["predictions"][0]["runner_up"] is None
    assert new.json == orjson.dumps(old.body)


def test_rendered_batch_of_a_segmentation_has_the_same_bytes(model):
    low, high = model.training_range
    rows = np.random.default_rng(5).uniform(low, high, (100, len(model.features))).tolist()
    customers = [{"features": dict(zip(model.features, row, strict=True))} for row in rows]
    customers[7]["customer_id"] = "seven"
    old = predict_many_by_features(model, customers, segmentation="default")
    new = predict_many_by_features(model, customers, segmentation="default", rendered=True)
    assert new.json == orjson.dumps(old.body)
    assert new.segmentation == "default"


def test_segment_texts_are_rendered_from_the_model_served(model):
    customers = _customers(model, np.random.default_rng(9), 50, ids="none")
    before = predict_customers(model, customers, rendered=True).json
    renamed = replace(model, segments=[replace(s, name=f"{s.name} %b \\ renamed") for s in model.segments])
    after = predict_customers(renamed, customers, rendered=True)
    assert after.json != before
    assert after.json == orjson.dumps(predict_customers(renamed, customers).body)


def test_numbers_of_every_magnitude_have_the_same_bytes(model):
    # Scores are written from their arrays and must read as the dicts' Python floats do: exponents, zeros, long
    # fractions. A customer at a centroid is a distance of zero or nearly; one far beyond the range is huge.
    low, high = (np.asarray(bound, dtype=float) for bound in model.training_range)
    rows = [low, high, low * 1e-9 + 1e-12, high * 1e7, high * 1e15]
    customers = [dict(zip(model.features, row.tolist(), strict=True)) for row in rows]
    customers += [dict(segment.centroid) for segment in model.segments]
    old = predict_customers(model, customers)
    new = predict_customers(model, customers, rendered=True)
    assert new.json == orjson.dumps(old.body)
    assert any(b"e" in orjson.dumps(p["distances"]) for p in old.body["predictions"])


@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("explained", [False, True])
def test_the_smallest_rendered_batches_have_the_same_bytes(model, n, explained):
    # The last row closes without the comma every other row ends with.
    customers = _customers(model, np.random.default_rng(n), n, ids="mixed")
    old = predict_customers(model, customers, explained=explained)
    assert predict_customers(model, customers, explained=explained, rendered=True).json == orjson.dumps(old.body)
