"""The predict routers are joined to the app before the rest of /api/v1: the same routes, answers and schema."""

from fastapi.testclient import TestClient


def test_predict_paths_keep_their_methods_and_neighbours(client: TestClient) -> None:
    wrong_method = client.get("/api/v1/predict")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "POST"
    assert client.post("/api/v1/predict", json={"annual_income": 60, "spending_score": 50}).status_code == 200
    # Routes of the rest of /api/v1 under the same prefixes still answer.
    assert client.get("/api/v1/segmentations/default").status_code == 200
    assert client.post("/api/v1/predict/csv", content=b"", headers={"Content-Type": "text/csv"}).status_code != 404


def test_openapi_lists_each_predict_route_once(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/predict",
        "/api/v1/predict/batch",
        "/api/v1/segmentations/{segmentation}/predict",
        "/api/v1/segmentations/{segmentation}/predict/batch",
    ):
        assert list(paths[path]) == ["post"], path
    operation_ids = [operation["operationId"] for item in paths.values() for operation in item.values()]
    assert len(operation_ids) == len(set(operation_ids))
