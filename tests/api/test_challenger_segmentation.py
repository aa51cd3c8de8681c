"""A challenger on a 3-feature segmentation (`?segmentation=`): its own setting, routes and log rows."""

from pathlib import Path

from app.models.segmentations.catalog import SegmentationCatalog
from app.models.segmentations.spec import SegmentationSpec
from app.models.segmentations.training import train_segmentation
from app.models.synthetic_crm import write_crm
from app.models.versions import challenger as challengers
from tests.api.test_challenger import ADMIN, KEY
from tests.api.test_segmentations import LOYALTY
from tests.db.reading import logged_rows


def test_a_segmentations_challenger_serves_its_routes_only(client_for, fresh_dir: Path, tmp_path: Path):
    spec = SegmentationCatalog(fresh_dir).create(SegmentationSpec.from_dict(LOYALTY))
    crm = write_crm(tmp_path / "crm.csv")
    first = train_segmentation(spec, crm, models_root=fresh_dir, k=3).model.version
    second = train_segmentation(spec, crm, models_root=fresh_dir, k=4, seed=7, activate=False).model.version
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    client = client_for(model_dir=fresh_dir, database_url=url, admin_api_keys=[KEY])
    body = {"version": second, "mode": "shadow"}
    # The default segmentation does not have this version.
    assert client.put("/api/v1/challenger", json=body, headers=ADMIN).status_code == 404
    response = client.put("/api/v1/challenger", json=body, headers=ADMIN, params={"segmentation": "loyalty"})
    assert response.status_code == 200, response.text
    assert response.json()["champion"] == first and response.json()["challenger"]["version"] == second
    assert client.get("/api/v1/challenger").json()["challenger"] is None
    assert client.get("/api/v1/challenger", params={"segmentation": "nope"}).status_code == 404

    features = {"income": 58_000, "visits": 6, "tenure": 4}
    answer = client.post("/api/v1/segmentations/loyalty/predict", json={"features": features, "customer_id": 3})
    assert (answer.json()["arm"], answer.json()["model_version"]) == ("champion", first)
    assert "arm" not in client.post("/api/v1/predict", json={"annual_income": 60, "spending_score": 50}).json()
    assert client.app.state.prediction_log.flush()
    rows = [(row.segmentation, row.arm, row.challenger_version) for row in logged_rows(url)]
    assert sorted(rows, key=str) == sorted([("loyalty", "champion", second), ("default", None, None)], key=str)
    report = client.get("/api/v1/challenger/report", params={"segmentation": "loyalty"}).json()
    assert report["n_paired"] == 1 and len(report["migration_matrix"][0]) == 4
    assert challengers.read_setting(SegmentationCatalog(fresh_dir).folder("loyalty"))["version"] == second
