"""Drift over time windows: the verdict does not depend on the order of a file's rows nor on scoring it again, and a
window that is mostly one file says so."""

from datetime import UTC, datetime, timedelta

import pytest

from app.models.synthetic import generate_customers
from tests.api.test_monitoring import customers, feed

CSV = {"content-type": "text/csv"}


@pytest.fixture
def log_client_for(client_for, tmp_path):
    """Clients with their own empty SQLite prediction log each."""
    count = iter(range(100))
    return lambda: client_for(database_url=f"sqlite:///{tmp_path / f'log-{next(count)}.sqlite3'}")


def export(rows: int, seed: int, *, sort_by: str | None = None, shuffle: int | None = None, ids: str = "C") -> bytes:
    """A CRM export with customer ids (`ids` then a number), sorted by a column or shuffled."""
    frame = generate_customers(rows=rows, seed=seed)
    frame["CustomerID"] = ids + frame["CustomerID"].astype(str)
    if sort_by is not None:
        frame = frame.sort_values(sort_by, kind="stable")
    if shuffle is not None:
        frame = frame.sample(frac=1.0, random_state=shuffle)
    return frame.to_csv(index=False).encode()


def score(client, data: bytes, request_id: str | None = None) -> None:
    headers = CSV | ({"X-Request-ID": request_id} if request_id else {})
    response = client.post("/api/v1/predict/csv", content=data, headers=headers)
    assert response.status_code == 200, response.text
    assert client.app.state.prediction_log.flush()


def verdict(body: dict) -> dict:
    """What a drift report concludes and measures, without the window's times."""
    return {
        "status": body["status"],
        "size": body["window"]["size"],
        "features": [
            (f["feature"], f["status"], round(f["psi"], 12), round(f["ks_statistic"], 12)) for f in body["features"]
        ],
        "mix": [(s["segment_id"], s["count"]) for s in body["segment_mix"]["segments"]],
        "rates": [(r["check"], r["status"], r["current_rate"]) for r in body["rates"]],
    }


def test_a_sorted_file_and_the_same_file_shuffled_give_the_same_verdict(log_client_for):
    sorted_client, shuffled_client = log_client_for(), log_client_for()
    score(sorted_client, export(3_000, seed=21, sort_by="Annual Income (k$)"))
    score(shuffled_client, export(3_000, seed=21, shuffle=7))

    by_time = [client.get("/api/v1/monitoring/drift").json() for client in (sorted_client, shuffled_client)]
    assert by_time[0]["window"]["kind"] == "time"
    assert verdict(by_time[0]) == verdict(by_time[1])
    assert by_time[0]["status"] == "stable"
    assert by_time[0]["window"]["size"] == 3_000
    # The last-N-rows window, kept for those who ask, still sees only the sorted file's richest customers.
    last_rows = sorted_client.get("/api/v1/monitoring/drift?window=1000").json()
    assert (last_rows["window"]["kind"], last_rows["status"]) == ("rows", "drift")


def test_scoring_the_same_file_twice_does_not_change_the_counts_per_customer(log_client_for):
    client = log_client_for()
    data = export(1_500, seed=22)
    score(client, data)
    once = client.get("/api/v1/monitoring/drift").json()
    score(client, data)
    twice = client.get("/api/v1/monitoring/drift").json()
    assert (once["window"]["rows_read"], twice["window"]["rows_read"]) == (1_500, 3_000)
    assert verdict(once) == verdict(twice)
    assert sum(segment["count"] for segment in twice["segment_mix"]["segments"]) == 1_500


def test_rows_without_a_customer_id_count_as_they_are(log_client_for):
    client = log_client_for()
    rows = customers(300, seed=23)
    feed(client, rows)
    feed(client, rows)
    body = client.get("/api/v1/monitoring/drift").json()
    assert (body["window"]["size"], body["window"]["rows_read"]) == (600, 600)


def test_a_window_mostly_one_file_carries_a_warning(log_client_for):
    client = log_client_for()
    score(client, export(900, seed=24), request_id="crm-export-1")
    feed(client, customers(100, seed=25))
    body = client.get("/api/v1/monitoring/drift").json()
    main = body["window"]["main_request"]
    assert (main["request_id"], main["source"], main["rows"], main["share"]) == ("crm-export-1", "csv", 900, 0.9)
    (warning,) = body["warnings"]
    assert "Most of this window (90%, 900 customers) is one file scored at" in warning
    assert "(request crm-export-1)" in warning

    # Another file as large: neither is most of the window any more.
    score(client, export(900, seed=26, ids="B"), request_id="crm-export-2")
    assert client.get("/api/v1/monitoring/drift").json()["warnings"] == []


def test_the_window_is_the_span_asked_for(log_client_for):
    client = log_client_for()
    feed(client, customers(300, seed=27))
    before = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    earlier = client.get("/api/v1/monitoring/drift", params={"until": before}).json()
    assert (earlier["status"], earlier["window"]["size"]) == ("insufficient data", 0)
    assert datetime.fromisoformat(earlier["window"]["until"]) == datetime.fromisoformat(before)
    assert "in this window" in earlier["messages"][0]
    week = client.get("/api/v1/monitoring/drift", params={"since": "2026-01-01T00:00:00Z"}).json()
    assert week["window"]["size"] == 300


def test_window_n_within_a_span(log_client_for):
    client = log_client_for()
    feed(client, customers(300, seed=28))
    within = client.get("/api/v1/monitoring/drift", params={"window": 200, "since": "2026-01-01T00:00:00Z"}).json()
    assert (within["window"]["kind"], within["window"]["size"]) == ("rows", 200)
    before = client.get("/api/v1/monitoring/drift", params={"window": 200, "until": "2026-01-01T00:00:00Z"}).json()
    assert before["window"]["size"] == 0


@pytest.mark.parametrize("query", [{"until": "1700000000"}, {"since": "yesterday"}, {"window": "0"}])
def test_bad_bounds_are_a_422(log_client_for, query):
    response = log_client_for().get("/api/v1/monitoring/drift", params=query)
    assert response.status_code == 422
    assert response.json()["type"] == "validation_error"
