"""Scoring files: a write that fails ends the read-ahead thread and raises the write's error."""

import contextlib
import threading
from pathlib import Path

import pytest

from app.services.runs.store import RunFile
from app.services.scoring import csv_io, files
from app.services.scoring.options import ScoreOptions
from tests.runs_files import customers_csv


class FailingSink:
    """A sink whose second write fails as a broken disk does (the first is the header)."""

    def __init__(self) -> None:
        self.writes = 0

    def write(self, data: bytes) -> int:
        self.writes += 1
        if self.writes >= 2:
            raise OSError(5, "Input/output error")
        return len(data)


@pytest.fixture
def failing(monkeypatch) -> FailingSink:
    sink = FailingSink()

    @contextlib.contextmanager
    def replace(_target: Path):
        yield sink

    monkeypatch.setattr(files, "atomic_replace", replace)
    return sink


def _readers() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name == "csv-read" and thread.is_alive()}


@pytest.fixture
def source(tmp_path: Path, monkeypatch) -> Path:
    """A customer file read as many small chunks: chunks wait in the read-ahead when the write fails."""
    monkeypatch.setattr(csv_io, "READ_BLOCK_BYTES", 2048)
    path = tmp_path / "customers.csv"
    path.write_text(customers_csv(range(400), seed=4))
    return path


def test_a_failed_write_of_score_path_stops_the_read_ahead(model, source, tmp_path, failing):
    before = _readers()
    with pytest.raises(OSError, match="Input/output error") as caught:
        files.score_path(model, source, tmp_path / "out.csv", options=ScoreOptions(chunk_rows=20))
    assert caught.type is OSError and failing.writes == 2  # nothing written after the failed write
    assert _readers() - before == set()


def test_a_failed_write_of_score_file_stops_the_read_ahead(model, source, tmp_path, failing):
    before = _readers()
    with pytest.raises(OSError, match="Input/output error") as caught:
        files.score_file(model, source, options=ScoreOptions(chunk_rows=20), target=tmp_path / "out.csv", spool_rows=0)
    assert caught.type is OSError and failing.writes == 2
    assert _readers() - before == set()


def test_a_failed_write_of_a_kept_run_stops_the_read_ahead_and_the_runs_writer(model, source, tmp_path, failing):
    before = {thread for thread in threading.enumerate() if thread.name.startswith(("csv-read", "run-file"))}
    keep = RunFile(tmp_path / "results")
    with pytest.raises(OSError, match="Input/output error") as caught:
        files.score_file(
            model, source, options=ScoreOptions(chunk_rows=20), target=tmp_path / "out.csv", spool_rows=0, keep=keep
        )
    assert caught.type is OSError and failing.writes == 2
    after = {thread for thread in threading.enumerate() if thread.name.startswith(("csv-read", "run-file"))}
    assert {thread for thread in after - before if thread.is_alive()} == set()
    keep.discard()
