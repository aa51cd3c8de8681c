"""A segmentation deleted and created again under its name starts with none of the old one's history."""

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.models.synthetic_crm import write_crm
from app.services.segmentation_history import HISTORY
from tests.api.test_segmentations import HEADERS, KEY, LOYALTY, _train

CUSTOMERS = [{"income": 20_000 + 7_000 * n, "visits": 1 + n % 9, "tenure": n % 20} for n in range(40)]


def _rows(client: TestClient, name: str) -> dict[str, int]:
    with client.app.state.db_sessions() as session:
        return {
            table.__tablename__: session.scalar(select(func.count()).where(table.segmentation == name))
            for table in HISTORY
        }


def test_a_recreated_segmentation_has_no_drift_checks_nor_predictions_of_the_old_one(
    client_for, fresh_dir: Path, tmp_path: Path, database_url: str
) -> None:
    api = client_for(
        model_dir=fresh_dir,
        admin_api_keys=[KEY],
        jobs_dir=tmp_path / "jobs",
        database_url=database_url,
        drift_evaluation_seconds=3_600,
    )
    crm = write_crm(tmp_path / "crm.csv").read_bytes()
    assert api.post("/api/v1/segmentations", json=LOYALTY, headers=HEADERS).status_code == 201
    _train(api, "loyalty", crm)
    for number, features in enumerate(CUSTOMERS):
        body = {"features": features, "customer_id": number}
        assert api.post("/api/v1/segmentations/loyalty/predict", json=body).status_code == 200
    assert api.app.state.prediction_log.flush()
    assert "loyalty" in api.app.state.drift_evaluator.run_once()
    (old,) = api.get("/api/v1/segmentations/loyalty/monitoring/drift/history").json()["evaluations"]
    assert "feature:tenure" in {check["check"] for check in old["checks"]}
    assert _rows(api, "loyalty")["prediction_log"] + _rows(api, "loyalty")["prediction_chunks"] > 0

    assert api.delete("/api/v1/segmentations/loyalty?force=true", headers=HEADERS).status_code == 204
    assert set(_rows(api, "loyalty").values()) == {0}
    assert sum(_rows(api, "default").values()) > 0  # another segmentation's history stays

    # Again, without tenure.
    again = {**LOYALTY, "features": LOYALTY["features"][:2]}
    assert api.post("/api/v1/segmentations", json=again, headers=HEADERS).status_code == 201
    _train(api, "loyalty", crm)
    history = api.get("/api/v1/segmentations/loyalty/monitoring/drift/history")
    assert history.status_code == 200 and history.json()["evaluations"] == []
    series = api.get("/api/v1/segmentations/loyalty/monitoring/timeseries")
    assert series.status_code == 200, series.text
    assert all(point["drift"] is None and not point["predictions"] for point in series.json()["series"])
    assert api.get("/api/v1/segmentations/loyalty/monitoring/predictions").json()["total"] == 0
