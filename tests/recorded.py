"""What requests leave behind, read from outside: prediction counts on /metrics and predictions in the log."""

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.db.session import create_db_engine, session_factory
from app.services.monitoring.log_reader import LogFilter, count

ADMIN_KEY = "recorded-metrics-reader"


def recording_client(client_for: Callable[..., TestClient], folder: Path, **overrides) -> TestClient:
    """A client with its own empty SQLite prediction log, and a key to read /metrics with."""
    return client_for(database_url=f"sqlite:///{folder / 'log.sqlite3'}", admin_api_keys=[ADMIN_KEY], **overrides)


def counted(client: TestClient, name: str = "segment_predictions_total", **labels: str) -> float:
    """The sum of a metric's samples on /metrics whose labels include `labels` (0 when there are none yet)."""
    response = client.get("/metrics", headers={"X-API-Key": ADMIN_KEY})
    assert response.status_code == 200, response.text
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def logged(client: TestClient, source: str | None = None) -> int:
    """Rows in the prediction log (of one source), once the writer has written everything queued."""
    assert client.app.state.prediction_log.flush()
    with client.app.state.db_sessions() as session:
        return count(session, where=LogFilter(source=source))


def logged_at(url: str) -> int:
    """Predictions in the log at a database URL, per row and in chunks (what another process or writer left)."""
    engine = create_db_engine(url)
    try:
        with session_factory(engine)() as session:
            return count(session, where=LogFilter())
    finally:
        engine.dispose()


def snapshot(client: TestClient) -> dict[str, float]:
    """Every count a prediction moves, per source, and the log's rows: equal before and after means untouched."""
    values = {"logged": float(logged(client))}
    for source in ("single", "batch", "csv"):
        values[f"predictions {source}"] = counted(client, source=source)
        values[f"atypical {source}"] = counted(client, "atypical_predictions_total", source=source)
        values[f"sizes {source}"] = counted(client, "scored_customers_per_request_count", source=source)
    return values


def customer_file(rows: int, *, bad_line: int | None = None) -> bytes:
    """A CSV of `rows` usable customers (public header), with an out-of-range spending score at `bad_line`."""
    lines = ["CustomerID,Gender,Age,Annual Income (k$),Spending Score (1-100)"]
    lines += [f"{i},Female,30,{10 + i % 120},{1 + i % 99}" for i in range(1, rows + 1)]
    if bad_line is not None:
        lines[bad_line - 1] = f"{bad_line - 1},Female,30,50,500"
    return ("\n".join(lines) + "\n").encode()
