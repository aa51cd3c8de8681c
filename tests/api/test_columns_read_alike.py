"""A file with two columns read as one ("Customer ID" and "customer_id"): scoring and training refuse it alike, with
one 422 naming both headers and what to do, rather than training refusing it and scoring picking the first."""

from pathlib import Path

import pytest

from app.core.errors import InvalidDataset
from app.models.dask_source import open_dataset
from app.models.dataset import load_customers
from app.models.features import FEATURES

KEY = "alike-admin-key-0123"
ADMIN = {"X-API-Key": KEY}
HEADER = "Customer ID,customer_id,Annual Income (k$),Spending Score (1-100)"
ROWS = "".join(f"C{n},{n},{15 + n},{1 + n}\n" for n in range(40))
MESSAGE = (
    "the columns 'Customer ID' and 'customer_id' are both read as customer_id: keep the one that holds customer_id, "
    "and remove or rename the other (such as 'customer_id' to 'customer_id 2')"
)


@pytest.fixture
def admin(client_for, fresh_dir):
    return client_for(model_dir=fresh_dir, admin_api_keys=[KEY])


@pytest.mark.parametrize("url", ["/api/v1/predict/csv", "/api/v1/segmentations/default/predict/csv"])
def test_scoring_refuses_two_id_columns_in_trainings_words(client, url):
    response = client.post(url, content=(HEADER + "\n" + ROWS).encode(), headers={"content-type": "text/csv"})
    assert response.status_code == 422
    assert response.json()["message"] == MESSAGE


def test_a_training_upload_is_refused_at_once_in_the_same_words(admin, fresh_dir):
    upload = ("two_ids.csv", (HEADER + "\n" + ROWS).encode(), "text/csv")
    response = admin.post("/api/v1/models", files={"file": upload}, data={"k": "3"}, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["message"] == MESSAGE


def test_every_trainer_refuses_it_in_the_same_words(tmp_path: Path):
    path = tmp_path / "two_ids.csv"
    path.write_text(HEADER + "\n" + ROWS)
    with pytest.raises(InvalidDataset) as local:
        load_customers(path)
    with pytest.raises(InvalidDataset) as dask:
        open_dataset(path, [FEATURES["annual_income"], FEATURES["spending_score"]])
    assert local.value.message == dask.value.message == MESSAGE


def test_an_id_column_named_by_id_column_leaves_the_other_an_ordinary_column(client):
    response = client.post(
        "/api/v1/predict/csv",
        params={"id_column": "Customer ID"},
        content=(HEADER + "\n" + ROWS).encode(),
        headers={"content-type": "text/csv", "Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["columns"]["customer_id"] == "Customer ID"


def test_scoring_refuses_a_feature_read_from_two_columns_as_training_does(client, tmp_path: Path):
    text = "CustomerID,Annual Income (k$),annual_income,Spending Score (1-100)\n" + "".join(
        f"C{n},{15 + n},{15 + n},{1 + n}\n" for n in range(40)
    )
    response = client.post("/api/v1/predict/csv", content=text.encode(), headers={"content-type": "text/csv"})
    assert response.status_code == 422
    path = tmp_path / "two_incomes.csv"
    path.write_text(text)
    with pytest.raises(InvalidDataset) as local:
        load_customers(path)
    assert response.json()["message"] == local.value.message
    assert "'Annual Income (k$)' and 'annual_income' are both read as annual_income" in local.value.message
