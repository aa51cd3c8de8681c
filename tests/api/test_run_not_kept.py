"""A scored file whose run cannot be kept (database unavailable, disk full): the labelled file still comes back, and
the answer says the run was not kept and why (X-Run-Not-Kept, the summary's run_not_kept, a note on /score)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
from starlette.testclient import TestClient

from app.main import create_app
from app.services.runs.records import DATABASE_DOWN, DISK_FULL
from tests.runs_files import client_builder, customers_csv, rows_of
from tests.small_disk import NoSmallDisk, fill, small_disk
from tests.tools import unavailable
from tests.web.test_score_page import post_file

CSV = {"content-type": "text/csv"}
JSON_SUMMARY = {"content-type": "text/csv", "accept": "application/json"}


@pytest.fixture
def database_down(client_for, tmp_path: Path) -> Iterator:
    """A client whose database stops answering once it has started (its file's folder is not there)."""
    client = client_builder(client_for, tmp_path)()
    engine = create_engine(f"sqlite:///{tmp_path / 'gone' / 'runs.sqlite3'}")
    client.app.state.db_sessions = sessionmaker(engine)
    yield client
    engine.dispose()


@pytest.mark.parametrize("url", ["/api/v1/predict/csv", "/api/v1/segmentations/default/predict/csv"])
def test_the_labelled_file_says_its_run_was_not_kept_when_the_database_is_down(database_down, url):
    response = database_down.post(url, content=customers_csv(range(20)), headers=CSV)

    assert response.status_code == 200, response.text
    assert len(rows_of(response.text)) == 20
    assert "x-run-id" not in response.headers
    assert response.headers["x-run-not-kept"] == DATABASE_DOWN


def test_the_summary_says_why_no_run_was_kept(database_down):
    response = database_down.post("/api/v1/predict/csv", content=customers_csv(range(20)), headers=JSON_SUMMARY)

    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["scored"] == 20
    assert summary["run_id"] is None
    assert summary["run_not_kept"] == DATABASE_DOWN
    assert response.headers["x-run-not-kept"] == DATABASE_DOWN


def test_the_score_page_notes_that_the_run_was_not_kept_and_still_offers_the_file(database_down):
    page = post_file(database_down, customers_csv(range(20)).encode())

    assert page.status_code == 200, page.text
    assert 'id="score-download"' in page.text
    assert 'id="score-run"' not in page.text
    assert 'id="score-run-not-kept"' in page.text
    assert f"Not kept as a run:</strong> {DATABASE_DOWN}" in page.text


def test_a_kept_run_sends_no_not_kept_note(client_for, tmp_path):
    client = client_builder(client_for, tmp_path)()
    response = client.post("/api/v1/predict/csv", content=customers_csv(range(20)), headers=JSON_SUMMARY)

    assert response.json()["run_id"] == response.headers["x-run-id"]
    assert response.json()["run_not_kept"] is None and "x-run-not-kept" not in response.headers
    assert 'id="score-run-not-kept"' not in post_file(client, customers_csv(range(20)).encode()).text


@pytest.mark.slow
def test_a_full_database_disk_is_named_as_the_reason(make_settings, tmp_path):
    try:
        with small_disk(tmp_path / "disk", 1024 * 1024) as disk:
            settings = make_settings(database_url=f"sqlite:///{disk / 'runs.sqlite3'}")
            # Closed (its database file with it) before the disk is unmounted.
            with TestClient(create_app(settings)) as client:
                filler = fill(disk, leave=0)
                response = client.post("/api/v1/predict/csv", content=customers_csv(range(20)), headers=CSV)
                filler.unlink()
    except NoSmallDisk as exc:
        unavailable(f"cannot simulate a full disk: {exc}")

    assert response.status_code == 200, response.text
    assert len(rows_of(response.text)) == 20
    assert "x-run-id" not in response.headers
    assert response.headers["x-run-not-kept"] == DISK_FULL
