"""The prediction log: rows land in SQLite and PostgreSQL, and a down database never breaks prediction."""

import csv
import io
import logging
import sqlite3
from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from app.core.metrics import record_log_queue
from app.db.session import create_db_engine
from app.db.tables import PredictionLog
from app.services.monitoring.log_reader import LogFilter
from app.services.monitoring.log_rows import COLUMNS
from app.services.monitoring.prediction_log import log_counters
from tests.db.reading import logged_rows
from tests.live_server import wait_for
from tests.services.test_scoring import BAD_FILE, HEADER
from tests.web.test_score_page import post_file

METRICS_KEY = "log-metrics-key-0123"
CUSTOMERS = [{"annual_income": 120, "spending_score": 90}, {"annual_income": 20, "spending_score": 10}]


def _rows(url: str) -> list:
    """Every logged prediction, per row or in a chunk, oldest first."""
    return logged_rows(url)


def test_single_and_batch_predictions_land_in_the_database(client_for, database_url):
    client = client_for(database_url=database_url)
    single = client.post("/api/v1/predict", json=CUSTOMERS[0], headers={"X-Request-ID": "one-1"})
    batch = client.post("/api/v1/predict/batch", json={"customers": CUSTOMERS * 3}, headers={"X-Request-ID": "b-2"})
    assert single.status_code == 200
    assert batch.status_code == 200
    assert client.app.state.prediction_log.flush()

    rows = _rows(database_url)
    assert [(row.source, row.request_id) for row in rows] == [("single", "one-1")] + [("batch", "b-2")] * 6
    answers = [single.json(), *batch.json()["predictions"]]
    for row, answer, customer in zip(rows, answers, [CUSTOMERS[0], *CUSTOMERS * 3], strict=True):
        assert row.inputs == customer
        assert row.segment_id == answer["segment_id"]
        assert row.segment_name == answer["segment_name"]
        assert row.distance == pytest.approx(answer["distance"])
        assert row.confidence == pytest.approx(answer["confidence"])
        assert row.is_atypical is answer["is_atypical"]
        assert row.model_version == answer["model_version"]
        assert row.created_at.tzinfo is not None
    assert [row.out_of_range for row in rows] == [False] * 7


def test_out_of_range_inputs_are_flagged(client_for, database_url):
    client = client_for(database_url=database_url)
    assert client.post("/api/v1/predict", json={"annual_income": 5000, "spending_score": 50}).status_code == 200
    assert client.app.state.prediction_log.flush()
    (row,) = _rows(database_url)
    assert row.out_of_range is True


def test_sampling_logs_about_the_configured_share(client_for, database_url):
    client = client_for(database_url=database_url, prediction_log_sample=0.25)
    customers = [{"annual_income": 10 + i % 100, "spending_score": 1 + i % 99} for i in range(2000)]
    assert client.post("/api/v1/predict/batch", json={"customers": customers}).status_code == 200
    for _ in range(20):
        assert client.post("/api/v1/predict", json=CUSTOMERS[1]).status_code == 200
    assert client.app.state.prediction_log.flush()
    logged = len(_rows(database_url))
    # 2,020 rows at 25%: the count is binomial with sd ~19.5, so 380..630 is over six sd either way.
    assert 380 <= logged <= 630


def test_logging_off_serves_and_writes_nothing(client_for, database_url):
    client = client_for(database_url=database_url, prediction_log_enabled=False)
    assert client.post("/api/v1/predict", json=CUSTOMERS[0]).status_code == 200
    assert client.app.state.prediction_log is None


def test_database_down_mid_run_rows_are_held_and_written_when_it_is_back(client_for, postgres, caplog):
    url = postgres.create_database()
    client = client_for(database_url=url)
    writer = client.app.state.prediction_log
    assert client.post("/api/v1/predict", json=CUSTOMERS[0]).status_code == 200
    assert writer.flush()
    assert writer.written == 1

    postgres.stop()
    try:
        before = log_counters()["dropped"]
        with caplog.at_level(logging.WARNING, logger="app.services.monitoring.prediction_log"):
            statuses = [client.post("/api/v1/predict", json=CUSTOMERS[i % 2]).status_code for i in range(30)]
            batch = client.post("/api/v1/predict/batch", json={"customers": CUSTOMERS * 10})
            assert writer.flush(timeout=1.5) is False  # held for a retry, neither written nor dropped
            drift = client.get("/api/v1/monitoring/drift")
    finally:
        postgres.start()
    assert statuses == [200] * 30
    assert batch.status_code == 200
    assert drift.status_code == 503
    assert drift.json()["type"] == "database_unavailable"
    assert writer.dropped == 0
    assert log_counters()["dropped"] == before
    assert writer.pending == 50
    warnings = [r.getMessage() for r in caplog.records if "held for a retry" in r.getMessage()]
    assert len(warnings) == 1  # at most one warning a minute, however many attempts failed
    assert "OperationalError" in warnings[0] and "postgres" not in warnings[0]

    # Back up: the held rows land (within the back-off cap), then new ones.
    assert writer.flush(timeout=30)
    assert client.post("/api/v1/predict", json=CUSTOMERS[1]).status_code == 200
    assert writer.flush()
    assert (writer.written, writer.dropped) == (52, 0)
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(PredictionLog)) == 52
    finally:
        engine.dispose()


def test_database_down_at_start_up_serves_then_migrates_and_writes_the_held_rows(client_for, postgres, monkeypatch):
    import app.services.monitoring.workers as workers

    monkeypatch.setattr(workers, "MIGRATION_RETRY_SECONDS", 0.0)
    url = postgres.create_database()
    postgres.stop()
    try:
        client = client_for(database_url=url)
        writer = client.app.state.prediction_log
        assert [client.post("/api/v1/predict", json=CUSTOMERS[0]).status_code for _ in range(5)] == [200] * 5
        assert writer.flush(timeout=1.0) is False
        assert (writer.pending, writer.dropped) == (5, 0)
    finally:
        postgres.start()
    assert client.post("/api/v1/predict", json=CUSTOMERS[1]).status_code == 200
    assert writer.flush(timeout=30)
    assert (writer.written, writer.dropped) == (6, 0)
    assert [row.segment_name for row in _rows(url)] == ["VIP / Whale"] * 5 + ["Budget Conscious"]


def _metric(client, name: str, **labels: str) -> float:
    """One sample of /metrics, 0 when it is not there."""
    response = client.get("/metrics", headers={"X-API-Key": METRICS_KEY})
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def test_dropped_rows_and_the_queue_are_exported_in_metrics(client_for, tmp_path):
    from sqlalchemy import event

    client = client_for(
        database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}", prediction_log_queue_rows=25, admin_api_keys=[METRICS_KEY]
    )
    writer = client.app.state.prediction_log
    assert writer.flush()
    # The gauge sums every writer of the process: one another test left running may hold rows.
    queued = _metric(client, "prediction_log_queue_rows")
    before = _metric(client, "prediction_log_dropped_rows_total", reason="queue_full")
    assert _metric(client, "prediction_log_dropped_rows_total", reason="write_failed") >= 0

    def down(connection, cursor, statement, *args) -> None:
        if statement.startswith("INSERT"):
            raise sqlite3.OperationalError("unable to open database file")

    event.listen(client.app.state.db_engine, "before_cursor_execute", down)
    assert client.post("/api/v1/predict/batch", json={"customers": CUSTOMERS * 10}).status_code == 200
    assert client.post("/api/v1/predict/batch", json={"customers": CUSTOMERS * 3}).status_code == 200
    assert wait_for(lambda: _metric(client, "prediction_log_queue_rows") - queued == 20, 10) is not None
    # A stale figure (as another writer thread might have left it): a scrape reports the queue as of itself.
    record_log_queue(0)
    assert _metric(client, "prediction_log_queue_rows") - queued == 20
    assert _metric(client, "prediction_log_dropped_rows_total", reason="queue_full") - before == 6

    event.remove(client.app.state.db_engine, "before_cursor_execute", down)
    assert writer.flush(timeout=30)
    assert wait_for(lambda: _metric(client, "prediction_log_queue_rows") == queued, 10) is not None
    assert writer.drops == {"queue_full": 6}


def _customer_file(good: int, bad_lines: list[str]) -> str:
    """A CSV with `good` usable customers, then the bad lines."""
    rows = [f"{i},Female,30,{10 + i % 120},{1 + i % 99}" for i in range(good)]
    return "\n".join([HEADER, *rows, *bad_lines]) + "\n"


@pytest.mark.parametrize("on_error", ["flag", "skip"])
def test_csv_upload_logs_each_scored_row_with_source_csv(client_for, database_url, on_error):
    client = client_for(database_url=database_url)
    bad = BAD_FILE.splitlines()[2:9]  # one row of every bad kind, none with a segment
    body = _customer_file(30, bad)
    response = client.post(
        "/api/v1/predict/csv",
        params={"on_error": on_error},
        content=body,
        headers={"content-type": "text/csv", "X-Request-ID": "csv-7"},
    )
    assert response.status_code == 200
    assert client.app.state.prediction_log.flush()

    rows = _rows(database_url)
    labelled = [row for row in csv.DictReader(io.StringIO(response.text)) if row["segment_id"]]
    assert len(labelled) == 30
    assert [(row.source, row.request_id, row.segmentation) for row in rows] == [("csv", "csv-7", "default")] * 30
    # The file's id column gives each row its customer id.
    assert [row.customer_id for row in rows] == [answer["CustomerID"] for answer in labelled]
    for row, answer in zip(rows, labelled, strict=True):
        assert row.inputs == {
            "annual_income": float(answer["Annual Income (k$)"]),
            "spending_score": float(answer["Spending Score (1-100)"]),
        }
        assert row.segment_id == int(answer["segment_id"])
        assert row.distance == pytest.approx(float(answer["distance"]))


def test_a_files_customer_id_holding_a_nul_is_logged_with_a_stand_in_and_every_other_row_too(client_for, database_url):
    client = client_for(database_url=database_url)
    # Past the first 64 KiB, which are checked for binary data (a NUL there refuses the file).
    body = _customer_file(5_000, []).replace("\n4700,", "\n4700\x00,", 1)
    response = client.post("/api/v1/predict/csv", content=body, headers={"content-type": "text/csv"})
    assert response.status_code == 200 and "4700\x00," in response.text  # the answer echoes the file's id
    assert client.app.state.prediction_log.flush()
    ids = {row.customer_id for row in _rows(database_url)}
    assert len(ids) == 5_000 and "4700\ufffd" in ids and "4701" in ids


def test_csv_summary_and_page_uploads_are_logged_too(client_for, database_url):
    client = client_for(database_url=database_url)
    body = _customer_file(12, [])
    summary = client.post(
        "/api/v1/predict/csv", content=body, headers={"content-type": "text/csv", "accept": "application/json"}
    )
    page = post_file(client, body.encode(), "mine.csv")
    assert summary.status_code == 200
    assert page.status_code == 200
    assert client.app.state.prediction_log.flush()
    assert [row.source for row in _rows(database_url)] == ["csv"] * 24


def test_csv_upload_honours_sampling(client_for, database_url):
    client = client_for(database_url=database_url, prediction_log_sample=0.25)
    body = _customer_file(2000, [])
    response = client.post("/api/v1/predict/csv", content=body, headers={"content-type": "text/csv"})
    assert response.status_code == 200
    assert client.app.state.prediction_log.flush()
    logged = _rows(database_url)
    # 2,000 rows at 25%: binomial with sd ~19.4, so 380..620 is over six sd either way.
    assert 380 <= len(logged) <= 620
    assert {row.source for row in logged} == {"csv"}


def test_chunks_of_two_models_with_any_feature_names_land_in_one_write(database_url):
    # Feature names are written into the INSERT as literals, and a batch holds one model's features at a time.
    from datetime import UTC, datetime

    from app.db.migrate import upgrade_database
    from app.services.monitoring.prediction_log import LogChunk, PredictionLogWriter

    upgrade_database(database_url)
    writer = PredictionLogWriter(create_db_engine(database_url), max_rows=100)

    def chunk(features: tuple[str, ...], values: list[float], source: str) -> LogChunk:
        return LogChunk(
            datetime.now(UTC), "v1", features, [values], [3], [0.5], [0.25], [True], [False], {3: "VIP"}, None, source
        )

    writer.submit(chunk(("annual_income", "spending_score"), [60.0, 50.5], "single"))
    writer.submit(chunk(("it's", "100%", "x'; DROP TABLE prediction_log; --"), [1.0, 2.0, 3.5], "batch"))
    writer.start()
    assert writer.flush()
    writer.stop()
    rows = _rows(database_url)
    assert [row.inputs for row in rows] == [
        {"annual_income": 60.0, "spending_score": 50.5},
        {"it's": 1.0, "100%": 2.0, "x'; DROP TABLE prediction_log; --": 3.5},
    ]
    assert [(row.segment_id, row.segment_name, row.is_atypical, row.out_of_range) for row in rows] == [
        (3, "VIP", True, False)
    ] * 2
    assert writer.written == 2 and writer.dropped == 0


def test_batch_customer_ids_are_logged_as_text_and_rows_belong_to_the_default_segmentation(client_for, database_url):
    client = client_for(database_url=database_url)
    customers = [CUSTOMERS[0] | {"customer_id": "C-1042"}, CUSTOMERS[1] | {"customer_id": 1043}, CUSTOMERS[0]]
    assert client.post("/api/v1/predict/batch", json={"customers": customers}).status_code == 200
    assert client.post("/api/v1/predict", json=CUSTOMERS[1]).status_code == 200
    assert client.app.state.prediction_log.flush()
    rows = _rows(database_url)
    assert [(row.source, row.customer_id) for row in rows] == [
        ("batch", "C-1042"),
        ("batch", "1043"),
        ("batch", None),
        ("single", None),
    ]
    assert {row.segmentation for row in rows} == {"default"}
    # The id is logged, never taken as a feature.
    assert [row.inputs for row in rows[:2]] == CUSTOMERS


def test_rows_carry_their_segmentation_and_customer_ids(database_url):
    from datetime import UTC, datetime

    from app.db.migrate import upgrade_database
    from app.services.monitoring.log_rows import LogChunk
    from app.services.monitoring.prediction_log import PredictionLogWriter

    upgrade_database(database_url)
    writer = PredictionLogWriter(create_db_engine(database_url), max_rows=100)
    long_id = "x" * 200
    ids = ["C-1", None, "l'ami 100% sûr", long_id, "N\x00UL"]
    features = ("recency_days", "frequency", "monetary")
    rfm = LogChunk(
        datetime.now(UTC), "v7", features, [[12.0, 4.0, 310.5]] * 5, [1, 2, 1, 2, 1], [0.1] * 5, [0.9] * 5,
        [False] * 5, [False] * 5, {1: "Champions", 2: "Lost"}, "r-9", "batch", "rfm", ids,
    )  # fmt: skip
    default = LogChunk(
        datetime.now(UTC), "v1", ("annual_income", "spending_score"), [[60.0, 50.0]], [3], [0.5], [0.25], [True],
        [False], {3: "VIP"}, None, "single",
    )  # fmt: skip
    writer.submit(rfm)
    writer.submit(default)
    writer.start()
    assert writer.flush()
    writer.stop()
    rows = _rows(database_url)
    assert [(row.segmentation, row.customer_id) for row in rows] == [
        ("rfm", "C-1"),
        ("rfm", None),
        ("rfm", "l'ami 100% sûr"),
        ("rfm", long_id[:128]),
        # PostgreSQL stores no text holding a NUL: it stands in, and the rows sharing its insert are kept too.
        ("rfm", "N\ufffdUL"),
        ("default", None),
    ]
    assert [row.segment_name for row in rows] == ["Champions", "Lost", "Champions", "Lost", "Champions", "VIP"]
    assert rows[0].inputs == {"recency_days": 12.0, "frequency": 4.0, "monetary": 310.5}


@pytest.mark.parametrize("chunk_from_rows", [None, 10**9], ids=["chunk-row", "per-row"])
def test_a_large_chunk_binds_its_shared_columns_and_stores_what_single_rows_store(database_url, chunk_from_rows):
    """A batch's chunk is stored as one chunk row, or (chunk storage off) inserted a row each with its request's
    columns bound once; either way its rows read back as the same rows written one chunk each (the statement for
    single predictions), every column compared."""
    import numpy as np

    from app.db.migrate import upgrade_database
    from app.services.monitoring.log_rows import LogChunk
    from app.services.monitoring.prediction_log import SHARED_FROM_ROWS, PredictionLogWriter

    upgrade_database(database_url)
    rows = SHARED_FROM_ROWS + 7
    rng = np.random.default_rng(4)
    segment_ids = rng.integers(0, 3, rows)
    chunk = LogChunk(
        datetime.now(UTC),
        "v-7",
        ("annual_income", "spending_score"),
        rng.uniform(15, 137, (rows, 2)),
        segment_ids,
        rng.random(rows),
        rng.random(rows),
        rng.random(rows) < 0.3,
        rng.random(rows) < 0.3,
        {0: "Savers", 1: "O'Brien's 100% fans", 2: "Whales"},
        "batch-9",
        "batch",
        segmentation="big",
        customer_ids=[f"C{i}" if i % 4 else None for i in range(rows)],
        arm="challenger",
        challenger_version="v-8",
        challenger_segment_ids=(segment_ids + 1) % 3,
    )
    singles = [chunk.subset(np.arange(rows) == i) for i in range(rows)]
    for single in singles:
        single.segmentation = "small"
    writer = PredictionLogWriter(create_db_engine(database_url), max_rows=10_000, chunk_from_rows=chunk_from_rows)
    writer.start()
    try:
        for queued in (chunk, *singles):
            writer.submit(queued)
        assert writer.flush(timeout=30)
        assert (writer.written, writer.dropped) == (2 * rows, 0)
    finally:
        writer.stop()

    def stored(segmentation: str) -> list[dict]:
        found = logged_rows(database_url, LogFilter(segmentation=segmentation))
        return [{column: getattr(row, column) for column in COLUMNS if column != "segmentation"} for row in found]

    big, small = stored("big"), stored("small")
    # SQLite's json_object keeps 15 significant digits of a per-row input; a chunk keeps the float64 whole.
    assert [{**row, "inputs": pytest.approx(row["inputs"], rel=1e-14)} for row in big] == small
    expected = chunk.rows()
    assert len(big) == len(expected) == rows
    for row, reference in zip(big, expected, strict=True):
        close = ("inputs", "distance", "confidence")
        assert [row[column] for column in close] == [pytest.approx(reference[column]) for column in close]
        assert {k: v for k, v in row.items() if k not in close} == {
            k: v for k, v in reference.items() if k not in (*close, "segmentation")
        }
