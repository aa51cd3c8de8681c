"""Drift windows read in parts into arrays give what the logged rows say, on SQLite and on PostgreSQL."""

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import insert

from app.db.migrate import upgrade_database
from app.db.session import create_db_engine, session_factory
from app.db.tables import PredictionLog
from app.services.monitoring import windows

VERSION = "v1"
START = datetime(2026, 12, 1, 9, tzinfo=UTC)


@pytest.fixture
def sessions(database_url):
    upgrade_database(database_url)
    engine = create_db_engine(database_url)
    yield session_factory(engine)
    engine.dispose()


def log_rows(count: int, seed: int) -> list[dict]:
    """Rows as the writer stores them, oldest first: customers scored again, rows without an id or a request, a
    feature some rows lack, and times that do not follow the ids."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        inputs = {"annual_income": rng.uniform(15, 137)}
        if rng.random() < 0.8:
            inputs["spending_score"] = rng.uniform(1, 99)
        rows.append(
            {
                "created_at": START + timedelta(seconds=i * 7 + rng.randint(0, 20), microseconds=rng.randint(0, 999)),
                "model_version": VERSION,
                "inputs": inputs,
                "segment_id": rng.randint(0, 4),
                "segment_name": "s",
                "distance": 1.0,
                "confidence": 0.5,
                "is_atypical": rng.random() < 0.1,
                "out_of_range": rng.random() < 0.05,
                "request_id": rng.choice(["batch-a", "batch-b", "file-c", None, f"single-{i}"]),
                "source": rng.choice(["single", "batch", "csv"]),
                "customer_id": rng.choice([None, f"C{rng.randint(1, count // 3)}"]),
            }
        )
    return rows


def expected(rows: list[dict], *, latest: bool) -> dict:
    """What a window of `rows` (oldest first) holds, counted plainly row by row."""
    kept, seen = [], set()
    for row in reversed(rows):
        customer = row["customer_id"]
        if latest and customer is not None:
            if customer in seen:
                continue
            seen.add(customer)
        kept.append(row)
    kept.reverse()
    counts = Counter(row["request_id"] for row in kept if row["request_id"] is not None)
    request_id, count = counts.most_common(1)[0]
    own = [row for row in kept if row["request_id"] == request_id]
    return {
        "rows": len(kept),
        "inputs": {
            name: [row["inputs"][name] for row in kept if name in row["inputs"]]
            for name in ("annual_income", "spending_score")
        },
        "segment_ids": [row["segment_id"] for row in kept],
        "atypical": [row["is_atypical"] for row in kept],
        "out_of_range": [row["out_of_range"] for row in kept],
        "first": kept[0]["created_at"],
        "last": kept[-1]["created_at"],
        "main": (request_id, own[0]["source"], count, count / len(kept), min(row["created_at"] for row in own)),
    }


def held(window) -> dict:
    main = window.main_request
    return {
        "rows": len(window),
        "inputs": {name: pytest.approx(list(values)) for name, values in window.inputs.items()},
        "segment_ids": window.segment_ids.tolist(),
        "atypical": window.atypical.tolist(),
        "out_of_range": window.out_of_range.tolist(),
        "first": window.first,
        "last": window.last,
        "main": (main.request_id, main.source, main.rows, main.share, main.at),
    }


@pytest.mark.parametrize("part_rows", [7, 10_000])
def test_time_and_rows_windows_hold_what_the_rows_say(sessions, monkeypatch, part_rows):
    monkeypatch.setattr(windows, "READ_PART_ROWS", part_rows)
    rows = log_rows(300, seed=part_rows)
    with sessions() as session:
        session.execute(insert(PredictionLog), rows)
        session.commit()
        until = START + timedelta(days=1)
        time_window = windows.time_window(session, model_version=VERSION, since=START, until=until)
        assert held(time_window) == expected(rows, latest=True)
        assert (time_window.rows_read, time_window.truncated) == (300, False)
        assert len(time_window) < 300  # customers scored again count once
        last_rows = windows.last_rows_window(session, model_version=VERSION, size=120)
        assert held(last_rows) == expected(rows[-120:], latest=False)


def test_requests_with_as_many_rows_go_to_the_one_logged_first(sessions):
    rows = log_rows(6, seed=5)
    for row, request_id in zip(rows, ["b", "a", None, "a", "b", "c"], strict=True):
        row["request_id"], row["customer_id"] = request_id, None
    with sessions() as session:
        session.execute(insert(PredictionLog), rows)
        session.commit()
        window = windows.last_rows_window(session, model_version=VERSION)
    assert (window.main_request.request_id, window.main_request.rows) == ("b", 2)
    assert window.main_request.source == rows[0]["source"]
    assert window.main_request.at == min(rows[0]["created_at"], rows[4]["created_at"])


def test_a_time_window_past_its_bound_says_so_and_keeps_the_newest(sessions, monkeypatch):
    monkeypatch.setattr(windows, "READ_PART_ROWS", 16)
    monkeypatch.setattr(windows, "MAX_TIME_WINDOW_ROWS", 50)
    rows = log_rows(80, seed=3)
    with sessions() as session:
        session.execute(insert(PredictionLog), rows)
        session.commit()
        window = windows.time_window(session, model_version=VERSION, since=START, until=START + timedelta(days=1))
    assert (window.rows_read, window.truncated) == (50, True)
    assert held(window) == expected(rows[-50:], latest=True)


def test_an_empty_window_has_no_rows_and_no_main_request(sessions):
    with sessions() as session:
        window = windows.time_window(session, model_version=VERSION, since=START, until=START + timedelta(days=1))
        by_rows = windows.last_rows_window(session, model_version=VERSION)
    for empty in (window, by_rows):
        assert (len(empty), empty.first, empty.last, empty.main_request) == (0, None, None, None)
        assert dict(empty.inputs) == {}
    assert np.array_equal(window.segment_ids, np.empty(0, np.int64))


def test_a_window_reads_what_orjson_refuses_and_leaves_out_names_only_dropped_rows_had(sessions):
    from sqlalchemy import text

    rows = log_rows(4, seed=9)
    for row, customer in zip(rows, ["C-1", None, None, "C-1"], strict=True):
        row["customer_id"] = customer
    rows[0]["inputs"] = {"annual_income": 20.0, "loyalty": 3.0}  # C-1's older row: not in the window
    rows[1]["inputs"] = {"annual_income": 2**70 + 1, "spending_score": 1.5}
    rows[2]["inputs"] = {"annual_income": 50.0, "spending_score": 9.0}
    with sessions() as session:
        session.execute(insert(PredictionLog), rows)
        session.commit()
        sqlite = session.bind.dialect.name == "sqlite"
        if sqlite:  # a value older writers may have stored; PostgreSQL's JSON type refuses it
            nan = '{"annual_income": NaN, "spending_score": 7.0}'
            session.execute(text(f"UPDATE prediction_log SET inputs = '{nan}' WHERE id = 3"))
            session.commit()
        window = windows.time_window(session, model_version=VERSION, since=START, until=START + timedelta(days=1))
    assert sorted(window.inputs) == ["annual_income", "spending_score"]
    third = [] if sqlite else [50.0]
    assert window.inputs["annual_income"].tolist() == [float(2**70 + 1), *third, rows[3]["inputs"]["annual_income"]]
    assert window.inputs["spending_score"][:2].tolist() == [1.5, 7.0 if sqlite else 9.0]
