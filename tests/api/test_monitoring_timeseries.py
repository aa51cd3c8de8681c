"""GET /api/v1/monitoring/timeseries: volumes, customers counted once, segment mix, rates and stored drift per
bucket."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.api.test_monitoring_windows import export, score


@pytest.fixture
def series_client(client_for, fresh_dir, tmp_path):
    """A client with its own log and the evaluator built (not ticking on its own within a test), on a private
    versions folder: drift it finds proposes retraining, whose job adds a candidate version."""
    return client_for(
        model_dir=fresh_dir, database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}", drift_evaluation_seconds=3_600
    )


def test_a_week_counts_each_customer_once_with_its_mix_rates_and_drift(series_client):
    data = export(800, seed=71)
    score(series_client, data)
    score(series_client, data)
    assert series_client.app.state.drift_evaluator.run_once() == ["default"]

    response = series_client.get("/api/v1/monitoring/timeseries", params={"bucket": "week"})
    assert response.status_code == 200
    body = response.json()
    assert (body["bucket"], len(body["series"])) == ("week", 13)
    assert datetime.fromisoformat(body["series"][0]["start"]).weekday() == 0
    (point,) = [point for point in body["series"] if point["predictions"]]
    assert (point["predictions"], point["customers"], sum(point["counts"].values())) == (1_600, 800, 800)
    drift = series_client.get("/api/v1/monitoring/drift").json()
    assert {s["segment_id"]: s["count"] for s in drift["segment_mix"]["segments"] if s["count"]} == {
        int(segment_id): count for segment_id, count in point["counts"].items()
    }
    rates = {rate["check"]: rate["current_rate"] for rate in drift["rates"]}
    assert (point["atypical_rate"], point["out_of_range_rate"]) == (rates["atypical"], rates["out_of_range"])
    (stored,) = series_client.get("/api/v1/monitoring/drift/history").json()["evaluations"]
    assert point["drift"]["status"] == stored["status"] == drift["status"]
    assert point["drift"]["checks"] == {check["check"]: check["status"] for check in stored["checks"]}
    assert all(other["drift"] is None for other in body["series"] if other is not point)


def test_hours_by_default_cover_two_days_and_since_moves_the_start(series_client):
    hours = series_client.get("/api/v1/monitoring/timeseries?bucket=hour").json()
    assert len(hours["series"]) == 49
    assert all(point["customers"] == 0 and point["atypical_rate"] is None for point in hours["series"])
    since = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    days = series_client.get("/api/v1/monitoring/timeseries", params={"since": since}).json()
    assert (days["bucket"], len(days["series"])) == ("day", 4)
    capped = series_client.get("/api/v1/monitoring/timeseries?bucket=hour&since=2020-01-01").json()
    assert len(capped["series"]) == 400


def test_another_segmentation_by_query_or_path(series_client):
    by_query = series_client.get("/api/v1/monitoring/timeseries?segmentation=default")
    by_path = series_client.get("/api/v1/segmentations/default/monitoring/timeseries")
    assert by_query.status_code == by_path.status_code == 200
    assert by_query.json()["segmentation"] == by_path.json()["segmentation"] == "default"
    assert series_client.get("/api/v1/monitoring/timeseries?segmentation=nope").status_code == 404
    contradicted = series_client.get("/api/v1/segmentations/default/monitoring/timeseries?segmentation=other")
    assert contradicted.status_code == 422


@pytest.mark.parametrize(
    "query",
    [
        {"bucket": "month"},
        {"segmentation": "Not A Name"},
        {"since": "1700000000"},
    ],
)
def test_bad_parameters_are_a_422(series_client, query):
    response = series_client.get("/api/v1/monitoring/timeseries", params=query)
    assert response.status_code == 422
    assert response.json()["type"] == "validation_error"
