"""An `rfm` segmentation through the API: transactions in, RFM segments with the marketers' names out."""

import csv
import io
import time
from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sklearn.metrics import adjusted_rand_score

from app.models.synthetic_transactions import generate_transactions, write_transactions

KEY = "rfm-admin-key-0123"
HEADERS = {"X-API-Key": KEY}


@pytest.fixture(scope="module")
def transactions(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, dict[str, str]]:
    path, _ = write_transactions(tmp_path_factory.mktemp("rfm") / "online_retail.csv", customers=800, seed=5)
    _, plan = generate_transactions(customers=800, seed=5)
    return path.read_bytes(), plan


@pytest.fixture
def api(client_for, fresh_dir: Path, tmp_path: Path) -> TestClient:
    return client_for(model_dir=fresh_dir, admin_api_keys=[KEY], jobs_dir=tmp_path / "jobs")


def _train(api: TestClient, data: bytes, **form: str) -> dict:
    response = api.post(
        "/api/v1/segmentations/rfm/models",
        files={"file": ("online_retail.csv", data, "text/csv")},
        data={"k": "4", **form},
        headers=HEADERS,
    )
    assert response.status_code == 202, response.text
    return _wait(api, response.json()["job_id"])


def _wait(api: TestClient, job_id: str) -> dict:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        job = api.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] in ("succeeded", "failed"):
            return job
        time.sleep(0.25)
    raise AssertionError("the training job did not finish")


def test_transactions_become_rfm_segments_named_by_the_marketers_vocabulary(api: TestClient, transactions) -> None:
    data, plan = transactions
    assert api.post("/api/v1/segmentations", json={"name": "rfm", "kind": "rfm"}, headers=HEADERS).status_code == 201
    job = _train(api, data)
    assert job["state"] == "succeeded", job

    info = api.get("/api/v1/segmentations/rfm/model/info").json()
    assert info["features"] == ["recency_days", "frequency", "monetary"]

    scored = api.post("/api/v1/segmentations/rfm/predict/csv", files={"file": ("online_retail.csv", data, "text/csv")})
    assert scored.status_code == 200, scored.text
    rows = list(csv.DictReader(io.StringIO(scored.text)))
    assert {"customer_id", "recency_days", "frequency", "monetary", "segment_id", "segment_name"} <= set(rows[0])
    assert len(rows) == len({row["customer_id"] for row in rows}) == len(plan)  # one row per customer
    planted = [plan[row["customer_id"]] for row in rows]
    assert adjusted_rand_score(planted, [row["segment_id"] for row in rows]) >= 0.9
    names_of = {group: Counter(r["segment_name"] for r, g in zip(rows, planted, strict=True) if g == group)
                for group in set(planted)}  # fmt: skip
    assert names_of["champions"].most_common(1)[0][0] == "Champions"
    assert names_of["lost"].most_common(1)[0][0] == "Lost"

    summary = api.post(
        "/api/v1/segmentations/rfm/predict/csv",
        files={"file": ("online_retail.csv", data, "text/csv")},
        headers={"Accept": "application/json"},
    ).json()
    read = summary["transactions"]
    assert read["rows_without_customer_id"] > 0 and read["cancellation_rows"] > 0
    assert read["customers"] == len(plan) and len(read["date_formats"]) == 2

    champion = next(row for row, group in zip(rows, planted, strict=True) if group == "champions")
    by_features = api.post(
        "/api/v1/segmentations/rfm/predict",
        json={"features": {k: float(champion[k]) for k in ("recency_days", "frequency", "monetary")}},
    ).json()
    assert by_features["segment_name"] == "Champions"
    by_transactions = api.post(
        "/api/v1/segmentations/rfm/predict",
        json={
            "customer_id": "new-1",
            "reference_date": "2011-12-10",
            "transactions": [
                {"date": "2011-12-01 10:00", "amount": 25.0, "order_id": "A1"},
                {"date": "2010-12-20 10:00", "quantity": 2, "unit_price": 9.5, "order_id": "A0"},
            ],
        },
    )
    assert by_transactions.status_code == 200, by_transactions.text
    assert by_transactions.json()["customer_id"] == "new-1"
    refused = api.post(
        "/api/v1/segmentations/rfm/predict", json={"transactions": [{"date": "not a date", "amount": 3}]}
    )
    assert refused.status_code == 422 and "date" in refused.json()["message"]
    impossible = api.post(
        "/api/v1/segmentations/rfm/predict", json={"transactions": [{"date": "2026-02-31", "amount": 10}]}
    )
    assert impossible.status_code == 422 and "'2026-02-31'" in impossible.json()["message"]
    huge = api.post(
        "/api/v1/segmentations/rfm/predict",
        json={"transactions": [{"date": "2011-12-01", "quantity": 6, "unit_price": 1e308}]},
    )
    assert huge.status_code == 422 and "quantity x unit_price" in huge.json()["message"]
    far = api.post(
        "/api/v1/segmentations/rfm/predict",
        json={"transactions": [{"date": "0001-01-01", "amount": 50}], "reference_date": "9999-12-31"},
    )
    assert far.status_code == 422 and "reference_date" in far.json()["message"]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("InvoiceNo,Quantity,UnitPrice,CustomerID\n1,2,3.5,17\n", "date"),
        ("InvoiceNo,InvoiceDate,Quantity,UnitPrice,CustomerID\n1,someday,2,3.5,17\n2,later,1,1,18\n", "InvoiceDate"),
        ("InvoiceNo,InvoiceDate,Quantity,UnitPrice,CustomerID\n1,2011-01-02 10:00,,,17\n2,2011-01-03 11:00,,,18\n",
         "Quantity"),
        ("InvoiceNo,InvoiceDate,Amount,CustomerID\n1,2011-01-02 10:00,4,\n2,2011-01-03 11:00,5,\n", "CustomerID"),
    ],
)  # fmt: skip
def test_a_bad_transactions_file_is_a_422_naming_the_column(api: TestClient, text: str, named: str) -> None:
    assert api.post("/api/v1/segmentations", json={"name": "rfm", "kind": "rfm"}, headers=HEADERS).status_code == 201
    response = api.post(
        "/api/v1/segmentations/rfm/models", files={"file": ("t.csv", text.encode(), "text/csv")}, headers=HEADERS
    )
    assert response.status_code == 422, response.text  # at once, from the header and a sample of the file
    assert named.lower() in response.json()["message"].lower()
    assert api.get("/api/v1/segmentations/rfm").json()["active_version"] is None  # nothing half-made
