"""Runs through the API with their index: written once the run is kept, the same pages on a worker that never read
the run, removed with it; the runs list purges at most once a minute; a run's drift is computed once."""

import os
import shutil
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.services.runs import analysis, browse, index, records, writers
from app.services.runs.store import heads_path, index_path
from tests.runs_files import ADMIN_KEY, client_builder, customers_csv, score

RUNS = "/api/v1/runs"


@pytest.fixture
def api(client_for, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(index, "INDEX_FROM_ROWS", 1)  # every run gets its index, as a large one does
    yield client_builder(client_for, tmp_path)()
    writers.stop_index_writers()  # no child outlives its test


def test_the_apps_shutdown_ends_the_index_children(make_settings, tmp_path, monkeypatch):
    monkeypatch.setattr(index, "INDEX_FROM_ROWS", 1)
    # A child that would write for a minute, as a large run's does: only the shutdown can end it in time.
    monkeypatch.setattr(index, "_command", lambda *_, **__: [sys.executable, "-c", "import time; time.sleep(60)"])
    settings = make_settings(
        database_url=f"sqlite:///{tmp_path / 'runs.sqlite3'}",
        score_results_dir=tmp_path / "results",
        admin_api_keys=ADMIN_KEY,
    )
    with TestClient(create_app(settings)) as api:
        score(api, customers_csv(range(50), seed=3))
        started = time.monotonic()
        while not writers.running_index_writers():
            assert time.monotonic() - started < 30, "no index child started"
            time.sleep(0.02)
        children = writers.running_index_writers()
    assert writers.running_index_writers() == []
    for child in children:
        assert child.poll() is not None  # ended and reaped
        with pytest.raises(ProcessLookupError):
            os.kill(child.pid, 0)


def _run_file(tmp_path: Path, run_id: str) -> Path:
    return tmp_path / "results" / "runs" / f"{run_id}.parquet"


def _wait_for_index(run_file: Path, seconds: float = 30.0) -> None:
    started = time.monotonic()
    while index.open_index(run_file) is None:
        assert time.monotonic() - started < seconds, "no index written"
        time.sleep(0.02)


def _pages(api, run_id: str, params: dict, *, cold: bool) -> list[dict]:
    pages, cursor = [], None
    while True:
        if cold:
            browse._tables.clear()
            browse._indexes.clear()
        response = api.get(f"{RUNS}/{run_id}/customers", params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return pages


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "-distance", "limit": 30},
        {"segment": "1", "limit": 20},
        {"atypical": "false", "sort": "Age", "limit": 25},
        {"out_of_range": "true", "sort": "-Annual Income (k$)"},
        {"sort": "-CustomerID", "limit": 70},
    ],
)
def test_pages_from_a_kept_runs_index_are_the_pages_of_reading_it(api, tmp_path, params):
    run_id, _ = score(api, customers_csv(range(400), seed=8))
    run_file = _run_file(tmp_path, run_id)
    _wait_for_index(run_file)
    from_index = _pages(api, run_id, params, cold=True)
    assert not browse._tables  # no page read the run whole

    shutil.rmtree(index_path(run_file))
    heads_path(run_file).unlink()
    index._open.clear()
    assert _pages(api, run_id, params, cold=True) == from_index
    assert browse._tables


@pytest.mark.parametrize("segment", ["²", "99999999999999999999999"])
def test_an_indexed_run_reads_a_segment_that_is_no_plain_number_as_a_name(api, tmp_path, segment):
    run_id, _ = score(api, customers_csv(range(100), seed=2))
    _wait_for_index(_run_file(tmp_path, run_id))
    browse._tables.clear()
    browse._indexes.clear()
    # The route answers 404 for a segment the run has not, so the index is asked directly.
    page = browse.browse_customers(
        path=_run_file(tmp_path, run_id), run_id=run_id, query=browse.CustomerQuery(segment=segment)
    )
    assert (page["items"], page["total"]) == ([], 0)


def test_deleting_a_run_removes_its_index(api, tmp_path):
    run_id, _ = score(api, customers_csv(range(100)))
    run_file = _run_file(tmp_path, run_id)
    _wait_for_index(run_file)
    assert api.delete(f"{RUNS}/{run_id}", headers={"X-API-Key": ADMIN_KEY}).status_code == 204
    assert not index_path(run_file).exists() and not run_file.exists()


def test_listing_runs_purges_at_most_once_a_minute(api, monkeypatch):
    score(api, customers_csv(range(10)))
    purges = []
    monkeypatch.setattr(records, "purge_runs", lambda **kwargs: purges.append(kwargs))
    monkeypatch.setattr(records, "_purged_at", {})
    for _ in range(3):
        assert api.get(RUNS).status_code == 200
    assert len(purges) == 1
    clock = time.monotonic() + records.PURGE_EVERY_SECONDS + 1
    monkeypatch.setattr(records.time, "monotonic", lambda: clock)
    assert api.get(RUNS).status_code == 200
    assert len(purges) == 2


def test_a_runs_drift_is_computed_once_for_its_pages_and_the_api(api, monkeypatch):
    run_id, _ = score(api, customers_csv(range(300), seed=2))
    reads = []
    frame = analysis._frame
    monkeypatch.setattr(analysis, "_frame", lambda *args: reads.append(args) or frame(*args))
    first = api.get(f"{RUNS}/{run_id}/drift")
    assert first.status_code == 200
    for params in ({}, {"segment": "1"}, {"atypical": "true"}):
        assert api.get(f"/runs/{run_id}", params=params).status_code == 200
    again = api.get(f"{RUNS}/{run_id}/drift")
    assert again.json() == first.json() and first.json()["status"] and first.json()["window"]["size"] == 300
    assert len(reads) == 1
    # Every sentence speaks of the file's customers, never of the log's "recent" ones.
    report = first.json()
    said = [*report["messages"], *(check["message"] for check in [*report["features"], *report["rates"]])]
    assert said and all("recent customers" not in text for text in said)
    assert any("this file's customers" in text for text in said)
