"""The batch routes send the column-wise rendering: the bytes orjson makes of the answer dicts, headers as before."""

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient

from app.services.prediction import predict_customers

IDENTITY = {"Accept-Encoding": "identity"}


def _customers(model, n: int) -> list[dict]:
    low, high = model.training_range
    rows = np.random.default_rng(11).uniform(low, high, (n, len(model.features))).round(2).tolist()
    customers = [dict(zip(model.features, row, strict=True)) for row in rows]
    for index in range(0, n, 4):
        customers[index]["customer_id"] = f"id-{index}"
    return customers


@pytest.mark.parametrize("explain", [False, True])
def test_batch_route_sends_the_dict_rendering_byte_for_byte(client: TestClient, explain: bool) -> None:
    model = client.app.state.registry.get()
    customers = _customers(model, 300)
    response = client.post(
        "/api/v1/predict/batch", json={"customers": customers}, params={"explain": explain}, headers=IDENTITY
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-length"] == str(len(response.content))
    assert response.content == orjson.dumps(predict_customers(model, customers, explained=explain).body)


def test_segmentation_batch_route_sends_the_dict_rendering(client: TestClient) -> None:
    model = client.app.state.registry.get()
    customers = _customers(model, 120)
    body = {
        "customers": [
            {"features": {name: customer[name] for name in model.features}}
            | ({"customer_id": customer["customer_id"]} if "customer_id" in customer else {})
            for customer in customers
        ]
    }
    response = client.post("/api/v1/segmentations/default/predict/batch", json=body)
    assert response.status_code == 200
    assert response.content == orjson.dumps(predict_customers(model, customers).body)
