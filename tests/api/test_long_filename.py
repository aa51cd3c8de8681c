"""An upload whose file name is too long for a multipart part header: the answer says so, in the usual shape."""

from tests.runs_files import customers_csv

ADMIN_KEY = "long-name-admin-key-0123456789"
LONG_NAME = "a" * 5000 + ".csv"
TOO_LONG = "most likely because the file's name is too long: rename the file to at most 4,096 characters"


def test_scoring_a_file_with_a_5000_character_name_says_the_name_is_too_long(client):
    files = {"file": (LONG_NAME, customers_csv(range(5)), "text/csv")}
    response = client.post("/api/v1/predict/csv", files=files)

    assert response.status_code == 422, response.text
    assert response.json()["type"] == "invalid_request"
    assert TOO_LONG in response.json()["message"]


def test_training_on_a_file_with_a_5000_character_name_says_the_name_is_too_long(client_for, tmp_path):
    client = client_for(admin_api_keys=[ADMIN_KEY], jobs_dir=tmp_path / "jobs")
    files = {"file": (LONG_NAME, customers_csv(range(50)), "text/csv")}
    response = client.post("/api/v1/models", files=files, headers={"X-API-Key": ADMIN_KEY})

    assert response.status_code == 400, response.text
    assert response.json()["type"] == "bad_request"
    assert response.json()["message"].startswith("the multipart form could not be read: a header of one")
    assert TOO_LONG in response.json()["message"]


def test_a_name_within_the_limit_is_scored(client):
    files = {"file": ("a" * 4000 + ".csv", customers_csv(range(5)), "text/csv")}
    assert client.post("/api/v1/predict/csv", files=files).status_code == 200
