"""/api/v1/monitoring: drift of logged predictions and volume per segment, end to end through the log."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from app.db.tables import PredictionChunk, PredictionLog
from app.models.synthetic import generate_customers

COLUMNS = {"Annual Income (k$)": "annual_income", "Spending Score (1-100)": "spending_score"}


def customers(rows: int, seed: int, income_shift: float = 0.0) -> list[dict[str, float]]:
    frame = generate_customers(rows=rows, seed=seed)[list(COLUMNS)].rename(columns=COLUMNS).astype(float)
    frame["annual_income"] += income_shift
    return frame.to_dict("records")


@pytest.fixture
def log_client(client_for, tmp_path):
    """A client with its own empty SQLite prediction log."""
    return client_for(database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}")


def feed(client, rows: list[dict[str, float]]) -> None:
    assert client.post("/api/v1/predict/batch", json={"customers": rows}).status_code == 200
    assert client.app.state.prediction_log.flush()


def test_drift_on_an_empty_log_is_insufficient_data(log_client):
    response = log_client.get("/api/v1/monitoring/drift")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "insufficient data"
    assert body["window"]["size"] == 0
    assert "no verdict" in body["messages"][0]


def test_fifty_predictions_are_insufficient_data(log_client):
    feed(log_client, customers(50, seed=3))
    body = log_client.get("/api/v1/monitoring/drift?window=1000").json()
    assert body["status"] == "insufficient data"
    assert body["window"]["size"] == 50


def test_training_distribution_is_stable(log_client):
    feed(log_client, customers(2_000, seed=5))
    body = log_client.get("/api/v1/monitoring/drift?window=2000").json()
    assert body["status"] == "stable"
    assert body["window"]["size"] == 2_000
    assert {check["status"] for check in body["features"]} == {"stable"}
    assert body["segment_mix"]["status"] == "stable"
    assert len(body["methods"]) >= 5


def test_income_shift_drifts_income_and_segment_mix(log_client, model):
    std = model.info["data_stats"]["annual_income"]["std"]
    feed(log_client, customers(2_000, seed=5, income_shift=std))
    body = log_client.get("/api/v1/monitoring/drift?window=2000").json()
    features = {check["feature"]: check for check in body["features"]}
    assert body["status"] == "drift"
    assert features["annual_income"]["status"] == "drift"
    assert body["segment_mix"]["status"] == "drift"
    assert any("consider retraining" in message for message in body["messages"])


def served_by_another_version(client) -> None:
    """Mark every prediction logged so far as another model version's, as after an activation."""
    with client.app.state.db_engine.begin() as connection:
        for table in (PredictionLog, PredictionChunk):
            connection.execute(update(table).values(model_version="20260101.000000-0ther"))


def test_drift_and_volume_count_only_the_served_versions_predictions(log_client, model):
    std = model.info["data_stats"]["annual_income"]["std"]
    feed(log_client, customers(2_000, seed=5, income_shift=std))
    served_by_another_version(log_client)

    empty = log_client.get("/api/v1/monitoring/drift?window=2000").json()
    assert (empty["status"], empty["window"]["size"]) == ("insufficient data", 0)
    assert empty["messages"][0].startswith("No predictions logged by this model version:")
    assert log_client.get("/api/v1/monitoring/predictions").json()["total"] == 0

    feed(log_client, customers(600, seed=6))
    body = log_client.get("/api/v1/monitoring/drift?window=2000").json()
    assert (body["status"], body["window"]["size"]) == ("stable", 600)
    volume = log_client.get("/api/v1/monitoring/predictions").json()
    assert (volume["total"], volume["model_version"]) == (600, model.version)


def test_window_takes_only_the_latest_predictions(log_client, model):
    std = model.info["data_stats"]["annual_income"]["std"]
    feed(log_client, customers(2_000, seed=5, income_shift=std))
    feed(log_client, customers(500, seed=6))
    assert log_client.get("/api/v1/monitoring/drift?window=500").json()["status"] == "stable"


@pytest.mark.parametrize("window", ["0", "-1", "100001", "abc", "1.5", "%205", "%0D5", "1_0", "%D9%A5"])
def test_bad_window_is_a_422(log_client, window):
    response = log_client.get(f"/api/v1/monitoring/drift?window={window}")
    assert response.status_code == 422
    assert response.json()["type"] == "validation_error"


def test_prediction_volume_counts_per_segment_and_hour(log_client):
    rows = customers(300, seed=4)
    feed(log_client, rows)
    response = log_client.get("/api/v1/monitoring/predictions")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 300
    assert body["bucket"] == "day"
    assert sum(point["total"] for point in body["series"]) == 300
    predicted = log_client.post("/api/v1/predict/batch", json={"customers": rows}).json()["segment_counts"]
    last = body["series"][-1]["counts"]
    assert {int(k): v for k, v in last.items()} == {c["segment_id"]: c["count"] for c in predicted}

    since = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    hourly = log_client.get("/api/v1/monitoring/predictions", params={"since": since}).json()
    assert hourly["bucket"] == "hour"
    assert hourly["total"] >= 300
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    later = log_client.get("/api/v1/monitoring/predictions", params={"since": future}).json()
    assert later["total"] == 0
    assert later["since"] == later["until"]  # the range is empty and ends now: never a since after its until


def test_prediction_volume_counts_only_up_to_until(log_client):
    feed(log_client, customers(150, seed=8))
    now = datetime.now(UTC)
    span = {"since": (now - timedelta(days=2)).isoformat(), "until": (now - timedelta(days=1)).isoformat()}
    response = log_client.get("/api/v1/monitoring/predictions", params=span)
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 0
    assert datetime.fromisoformat(body["until"]) == datetime.fromisoformat(span["until"])
    assert datetime.fromisoformat(body["series"][-1]["start"]) <= datetime.fromisoformat(span["until"])
    # Up to a moment after the predictions, they count.
    span["until"] = (now + timedelta(minutes=1)).isoformat()
    assert log_client.get("/api/v1/monitoring/predictions", params=span).json()["total"] == 150


@pytest.mark.parametrize("since", ["yesterday", "0.5", "1700000000", "2026-13-01"])
def test_bad_since_is_a_422(log_client, since):
    response = log_client.get("/api/v1/monitoring/predictions", params={"since": since})
    assert response.status_code == 422
    assert response.json()["type"] == "validation_error"


def test_an_old_since_is_capped_at_400_buckets(log_client):
    body = log_client.get("/api/v1/monitoring/predictions?since=1970-01-01").json()
    assert len(body["series"]) <= 400
    assert body["since"] > "2025"


def test_reference_is_not_in_model_info(log_client):
    assert "drift_reference" not in log_client.get("/api/v1/model/info").json()


def test_drift_scans_a_bounded_number_of_the_newest_rows(log_client, monkeypatch):
    from app.services.monitoring import windows as monitoring

    feed(log_client, customers(600, seed=6))
    served_by_another_version(log_client)
    feed(log_client, customers(300, seed=7))
    monkeypatch.setattr(monitoring, "MAX_SCANNED_ROWS", 700)
    # The newest 700 rows: the served version's 300 and 400 of the other's; none of the older ones are read.
    assert log_client.get("/api/v1/monitoring/drift?window=2000").json()["window"]["size"] == 300
    monkeypatch.setattr(monitoring, "MAX_SCANNED_ROWS", 200)
    assert log_client.get("/api/v1/monitoring/drift?window=2000").json()["window"]["size"] == 200


def test_window_bounds_are_in_the_openapi_schema(log_client):
    parameters = log_client.get("/openapi.json").json()["paths"]["/api/v1/monitoring/drift"]["get"]["parameters"]
    assert [parameter["name"] for parameter in parameters] == ["window", "since", "until", "segmentation"]
    (integer,) = [variant for variant in parameters[0]["schema"]["anyOf"] if variant.get("type") == "integer"]
    assert (integer["minimum"], integer["maximum"]) == (1, 100_000)


OFF_THE_CALENDAR = {
    "first day": {"since": "0001-01-01", "until": "0001-01-01"},
    "first day, east of UTC": {"since": "0001-01-01T00:00:00+14:00"},
    "last moment, west of UTC": {"since": "9999-12-31T23:59:59-14:00"},
    "year 1899": {"since": "1899-12-31"},
}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/monitoring/drift",
        "/api/v1/monitoring/drift/history",
        "/api/v1/monitoring/timeseries",
        "/api/v1/monitoring/predictions",
        "/api/v1/segmentations/default/monitoring/drift/history",
    ],
)
@pytest.mark.parametrize("params", OFF_THE_CALENDAR.values(), ids=OFF_THE_CALENDAR.keys())
def test_moments_off_the_calendar_are_a_422_not_a_500(log_client, path, params):
    # A window reaches days around its ends: at the calendar's edge that arithmetic overflowed into a 500.
    response = log_client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert "expected a moment between 1900-01-01 and 9000-12-31" in response.text


def test_the_monitoring_page_refuses_moments_off_the_calendar(log_client):
    response = log_client.get("/monitoring", params={"until": "0001-01-01"}, headers={"Accept": "text/html"})
    assert response.status_code == 422
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/monitoring/drift",
        "/api/v1/monitoring/drift?window=200",
        "/api/v1/monitoring/drift/history",
        "/api/v1/monitoring/timeseries",
        "/api/v1/segmentations/default/monitoring/timeseries?bucket=hour",
        "/api/v1/monitoring/predictions",
        "/api/v1/segmentations/default/monitoring/predictions",
    ],
)
def test_a_since_after_its_until_is_a_422_saying_so(log_client, path):
    feed(log_client, customers(150, seed=9))
    reversed_span = {"since": "2026-12-06T12:00:00Z", "until": "2026-12-01T12:00:00+00:00"}
    response = log_client.get(path, params=reversed_span)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["type"] == "invalid_request"
    assert body["message"] == (
        "since (2026-12-06T12:00:00+00:00) is after until (2026-12-01T12:00:00+00:00): give a since before the until"
    )
    # Equal bounds are an empty window, not a mistake.
    same = log_client.get(path, params={"since": reversed_span["until"], "until": reversed_span["until"]})
    assert same.status_code == 200, same.text


def test_a_database_failure_logs_its_reason_but_answers_only_its_class(log_client, caplog):
    import logging
    import sqlite3

    from sqlalchemy import event

    from app.core.logging import JsonFormatter, TextFormatter

    def away(connection, cursor, statement, *args) -> None:
        raise sqlite3.OperationalError("could not reach postgresql://app:s3cret-Pw@db:5432/segments: timeout")

    event.listen(log_client.app.state.db_engine, "before_cursor_execute", away)
    with caplog.at_level(logging.WARNING, logger="app"):
        response = log_client.get("/api/v1/monitoring/drift", headers={"X-Request-ID": "db-down-1"})
    assert response.status_code == 503
    assert response.json()["type"] == "database_unavailable"
    assert "(OperationalError)" in response.json()["message"] and "could not reach" not in response.text
    lines = [record.getMessage() for record in caplog.records if getattr(record, "request_id", None) == "db-down-1"]
    assert len(lines) == 1
    assert "OperationalError: could not reach postgresql://app:***@db:5432/segments: timeout" in lines[0]
    # Nor in any other line the app wrote meanwhile (the drainer's traceback of the same failure among them).
    for formatter in (TextFormatter(), JsonFormatter()):
        assert not [line for line in map(formatter.format, caplog.records) if "s3cret" in line]
