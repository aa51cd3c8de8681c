"""A batch of RFM customers by transactions, built in one pass: each answered as their own predict answers them."""

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.models.synthetic_transactions import write_transactions
from app.services import rfm_customer
from tests.models.rfm.test_batch import _varied

KEY = "rfm-batch-admin-key-0123"
HEADERS = {"X-API-Key": KEY}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path, _ = write_transactions(tmp_path_factory.mktemp("rfm") / "online_retail.csv", customers=200, seed=3)
    return path.read_bytes()


@pytest.fixture
def api(client_for, fresh_dir: Path, tmp_path: Path, data: bytes) -> TestClient:
    client = client_for(model_dir=fresh_dir, admin_api_keys=[KEY], jobs_dir=tmp_path / "jobs")
    assert client.post("/api/v1/segmentations", json={"name": "rfm", "kind": "rfm"}, headers=HEADERS).status_code == 201
    response = client.post(
        "/api/v1/segmentations/rfm/models",
        files={"file": ("online_retail.csv", data, "text/csv")},
        data={"k": "4"},
        headers=HEADERS,
    )
    assert response.status_code == 202, response.text
    deadline = time.monotonic() + 180
    while (job := client.get(f"/api/v1/jobs/{response.json()['job_id']}").json())["state"] not in (
        "succeeded",
        "failed",
    ):
        assert time.monotonic() < deadline, "the training job did not finish"
        time.sleep(0.25)
    assert job["state"] == "succeeded", job
    return client


def _body(transactions: list[dict], reference) -> dict:
    return {"transactions": transactions, **({"reference_date": reference.isoformat()} if reference else {})}


def test_a_batch_answers_each_customer_as_their_own_build_did(api: TestClient, monkeypatch) -> None:
    # Mixed date formats guessed per customer, refunds, one line or forty; the customers their own predict
    # refuses are left out of the batch (a refused customer refuses the whole batch).
    bodies = [_body(transactions, reference) for transactions, reference in _varied(11, 120)]
    bodies = [body for body in bodies if api.post("/api/v1/segmentations/rfm/predict", json=body).status_code == 200]
    assert len(bodies) > 50
    alone_builds = []
    monkeypatch.setattr(rfm_customer, "rfm_values", lambda *args, **kwargs: alone_builds.append(args))
    batch = api.post("/api/v1/segmentations/rfm/predict/batch", json={"customers": bodies})
    assert batch.status_code == 200, batch.text
    assert not alone_builds  # every customer built in the one pass
    monkeypatch.undo()
    # The same batch with every customer built alone, as before the one pass.
    monkeypatch.setattr(rfm_customer, "build_rfm_rows", lambda customers, options: [None] * len(customers))
    alone = api.post("/api/v1/segmentations/rfm/predict/batch", json={"customers": bodies})
    assert alone.status_code == 200, alone.text
    assert batch.json()["predictions"] == alone.json()["predictions"]


def test_a_refused_customer_is_named_as_their_own_predict_names_them(api: TestClient) -> None:
    good = {"transactions": [{"date": "2011-01-03", "amount": 5}]}
    late = {"transactions": [{"date": "12/01/2011", "amount": 5}], "reference_date": "2011-06-01"}
    returns_only = {"transactions": [{"date": "2011-01-03", "amount": -5}]}
    for refused in (late, returns_only):
        alone = api.post("/api/v1/segmentations/rfm/predict", json=refused)
        batch = api.post("/api/v1/segmentations/rfm/predict/batch", json={"customers": [good, good, refused, good]})
        assert alone.status_code == batch.status_code == 422
        assert batch.json()["message"] == f"customers[2]: {alone.json()['message']}"
