"""/api/v1/monitoring/* for another segmentation: `?segmentation=` at the top level answers as the segmentation's own
path does, and each route declares the segmentation once."""

import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.models.segmentations.catalog import SegmentationCatalog
from app.models.segmentations.spec import SegmentationSpec
from app.models.segmentations.training import train_segmentation
from app.models.synthetic_crm import write_crm
from tests.api.test_segmentations import LOYALTY

ROUTES = ["drift", "drift/history", "predictions", "timeseries"]
# Customers scored with the loyalty segmentation, none with the default one.
SCORED = [{"income": 20_000 + 7_000 * n, "visits": 1 + n % 9, "tenure": n % 20} for n in range(30)]


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> tuple[Path, str]:
    """A versions folder with the default model, a trained `loyalty` segmentation and an untrained `blank` one."""
    root = tmp_path_factory.mktemp("monitored") / "models_artifacts"
    shutil.copytree(model_dir, root)
    catalog = SegmentationCatalog(root)
    spec = catalog.create(SegmentationSpec.from_dict(LOYALTY))
    catalog.create(SegmentationSpec.from_dict({**LOYALTY, "name": "blank"}))
    crm = write_crm(root.parent / "crm.csv")
    return root, train_segmentation(spec, crm, models_root=root, k=3).model.version


@pytest.fixture
def monitored(client_for, versions: tuple[Path, str], tmp_path: Path) -> TestClient:
    """A client whose own log holds predictions of the loyalty segmentation only."""
    client = client_for(model_dir=versions[0], database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}")
    for number, features in enumerate(SCORED):
        body = {"features": features, "customer_id": number}
        assert client.post("/api/v1/segmentations/loyalty/predict", json=body).status_code == 200
    assert client.app.state.prediction_log.flush()
    return client


def test_each_route_reads_the_segmentation_the_query_names(monitored: TestClient, versions: tuple[Path, str]):
    drift = monitored.get("/api/v1/monitoring/drift", params={"segmentation": "loyalty"})
    assert drift.status_code == 200, drift.text
    assert (drift.json()["model_version"], drift.json()["window"]["size"]) == (versions[1], len(SCORED))
    volume = monitored.get("/api/v1/monitoring/predictions", params={"segmentation": "loyalty"})
    assert volume.status_code == 200, volume.text
    assert (volume.json()["model_version"], volume.json()["total"]) == (versions[1], len(SCORED))
    history = monitored.get("/api/v1/monitoring/drift/history", params={"segmentation": "loyalty"})
    assert history.status_code == 200, history.text
    assert history.json()["segmentation"] == "loyalty"
    # Without the query, the default segmentation, which has scored no one.
    assert monitored.get("/api/v1/monitoring/drift").json()["window"]["size"] == 0
    assert monitored.get("/api/v1/monitoring/predictions").json()["total"] == 0


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("segmentation", ["loyalty", "blank", "nope"])
def test_the_query_answers_as_the_segmentations_path_does(monitored: TestClient, route: str, segmentation: str):
    # A fixed span: by default each answer ends at its own now.
    now = datetime.now(UTC)
    span = {"since": (now - timedelta(days=1)).isoformat(), "until": (now + timedelta(hours=1)).isoformat()}
    by_query = monitored.get(f"/api/v1/monitoring/{route}", params={**span, "segmentation": segmentation})
    by_path = monitored.get(f"/api/v1/segmentations/{segmentation}/monitoring/{route}", params=span)
    assert by_query.status_code == by_path.status_code, (by_query.text, by_path.text)
    expected = {"loyalty": 200, "blank": 200 if route == "drift/history" else 503, "nope": 404}[segmentation]
    assert by_query.status_code == expected, by_query.text
    if expected != 200:
        assert by_query.json()["type"] == by_path.json()["type"]
    else:
        assert by_query.json() == by_path.json()


@pytest.mark.parametrize("route", ROUTES)
def test_a_name_that_cannot_be_a_segmentation_is_a_422(monitored: TestClient, route: str):
    response = monitored.get(f"/api/v1/monitoring/{route}", params={"segmentation": "Not A Name"})
    assert response.status_code == 422
    assert response.json()["type"] == "validation_error"


@pytest.mark.parametrize("route", ROUTES)
def test_a_query_contradicting_the_path_is_a_422(monitored: TestClient, route: str):
    response = monitored.get(f"/api/v1/segmentations/default/monitoring/{route}", params={"segmentation": "loyalty"})
    assert response.status_code == 422
    assert "contradicts the path's segmentation default" in response.json()["message"]


def test_every_monitoring_route_declares_the_segmentation_once(monitored: TestClient):
    paths = monitored.get("/openapi.json").json()["paths"]
    for route in ROUTES:
        for prefix, where in (("/api/v1", "query"), ("/api/v1/segmentations/{segmentation}", "path")):
            parameters = paths[f"{prefix}/monitoring/{route}"]["get"]["parameters"]
            assert Counter(parameter["name"] for parameter in parameters).most_common(1)[0][1] == 1, parameters
            (declared,) = [parameter for parameter in parameters if parameter["name"] == "segmentation"]
            assert declared["in"] == where, (prefix, route)
