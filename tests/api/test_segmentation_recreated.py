"""A segmentation deleted and created again under its name starts with none of the old one's history."""

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.models.synthetic_crm import write_crm
from app.services.runs.store import run_path
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


def test_a_delete_that_cannot_remove_the_folder_keeps_the_history_and_one_that_can_leaves_nothing_behind(
    client_for, fresh_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    from app.models.segmentations.catalog import SegmentationCatalog

    api = client_for(
        model_dir=fresh_dir,
        admin_api_keys=[KEY],
        jobs_dir=tmp_path / "jobs",
        database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}",
        score_results_dir=tmp_path / "results",
    )
    crm = write_crm(tmp_path / "crm.csv").read_bytes()
    assert api.post("/api/v1/segmentations", json=LOYALTY, headers=HEADERS).status_code == 201
    _train(api, "loyalty", crm)
    scored = api.post("/api/v1/segmentations/loyalty/predict/csv", content=crm, headers={"content-type": "text/csv"})
    run_file = run_path(tmp_path / "results", scored.headers["X-Run-Id"])
    assert run_file.is_file()
    for number, features in enumerate(CUSTOMERS[:5]):
        assert api.post("/api/v1/segmentations/loyalty/predict", json={"features": features, "customer_id": number})
    assert api.app.state.prediction_log.flush()
    before = _rows(api, "loyalty")

    # The folder cannot go: the rows were deleted and committed first, and the segmentation went on serving without
    # its history.
    def denied(self, name):
        raise PermissionError(13, "Permission denied", name)

    with monkeypatch.context() as patch:
        patch.setattr(SegmentationCatalog, "delete", denied)
        refused = api.delete("/api/v1/segmentations/loyalty?force=true", headers=HEADERS)
    assert refused.status_code >= 400, refused.text
    assert _rows(api, "loyalty") == before and api.get("/api/v1/segmentations/loyalty").status_code == 200
    assert run_file.is_file()

    # Predictions still queued when the delete comes are written by then, and removed with the rest.
    for number, features in enumerate(CUSTOMERS[5:10]):
        assert api.post("/api/v1/segmentations/loyalty/predict", json={"features": features, "customer_id": number})
    assert api.delete("/api/v1/segmentations/loyalty?force=true", headers=HEADERS).status_code == 204
    assert api.app.state.prediction_log.flush()
    assert set(_rows(api, "loyalty").values()) == {0}
    assert not run_file.exists()  # its runs' files go with their rows, as a run's own delete removes its file

    # Its jobs go too: a new segmentation of the name lists none of the old one's.
    assert api.post("/api/v1/segmentations", json=LOYALTY, headers=HEADERS).status_code == 201
    assert api.get("/api/v1/segmentations/loyalty/jobs", headers=HEADERS).json()["jobs"] == []
