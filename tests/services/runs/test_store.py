"""Run files: written whole or not at all; what a killed process leaves is removed; never a half-written run."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.core.config import PROJECT_ROOT
from app.db.migrate import upgrade_database
from app.db.session import create_db_engine, session_factory
from app.db.tables import Run
from app.models.synthetic import write_customers
from app.services.runs import store
from app.services.runs.records import tidy_runs
from tests.live_server import live_server, wait_for

# Scores a large file into a run file, slowly, printing a line after each chunk written: killed by the test.
WRITER = """
import sys, time
from pathlib import Path
from app.models.versions.store import load_model
from app.services.runs.store import RunFile
from app.services.scoring.files import score_file
from app.services.scoring.options import ScoreOptions

class Slow(RunFile):
    def tee(self, tables, schema):
        for table in super().tee(tables, schema):
            print("chunk", flush=True)
            time.sleep(0.5)
            yield table

run = Slow(Path(sys.argv[3]))
print(run.run_id, flush=True)
score_file(load_model(Path(sys.argv[1])), Path(sys.argv[2]), options=ScoreOptions(chunk_rows=1000), target=None,
           spool_rows=0, keep=run)
print("scored", flush=True)
"""


@pytest.fixture
def sessions(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'runs.sqlite3'}"
    upgrade_database(url)
    engine = create_db_engine(url)
    yield session_factory(engine)
    engine.dispose()


def test_a_process_killed_while_writing_leaves_no_run_once_tidied(model_dir, tmp_path, sessions):
    source = write_customers(tmp_path / "customers.csv", rows=20_000)
    results = tmp_path / "results"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(model_dir), str(source), str(results)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    run_id = writer.stdout.readline().strip()
    assert writer.stdout.readline().strip() == "chunk"  # a chunk is on disk, more to come
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=10)
    left = list(store.runs_dir(results).iterdir())
    assert [path.name.split(".")[1] for path in left] == [run_id]  # only the temporary file, never the run's
    assert not store.run_path(results, run_id).exists()

    with sessions() as session:
        assert tidy_runs(session=session, results_dir=results) == [left[0].name]
        assert session.scalars(select(Run)).all() == []
    assert list(store.runs_dir(results).iterdir()) == []


def test_tidy_keeps_a_live_writer_and_recorded_runs_and_removes_unrecorded_files(tmp_path):
    results = tmp_path / "results"
    writing = store.RunFile(results)
    writing.partial.write_bytes(b"PAR1")  # this process is alive: another request is writing it
    recorded, orphan = store.run_path(results, "a" * 32), store.run_path(results, "b" * 32)
    recorded.write_bytes(b"PAR1")
    orphan.write_bytes(b"PAR1")

    # A file with no row may be one a worker renamed a moment ago and is inserting: kept while young.
    assert store.tidy(results, known={"a" * 32}) == []
    later = time.time() + store.ORPHAN_AFTER_SECONDS + 1
    assert store.tidy(results, known={"a" * 32}, now=later) == [orphan.name]
    assert writing.partial.exists() and recorded.exists()
    writing.discard()
    assert not writing.partial.exists()


@pytest.mark.slow
def test_a_server_killed_while_scoring_leaves_no_half_written_run(model_dir, tmp_path):
    source = write_customers(tmp_path / "customers.csv", rows=1_000_000)
    results = tmp_path / "results"
    env = {
        "MODEL_DIR": str(model_dir),
        "AUTO_TRAIN": "false",
        "SCORE_RESULTS_DIR": str(results),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'runs.sqlite3'}",
    }
    with live_server(env, tmp_path / "first.log") as server:
        upload = threading.Thread(target=lambda: _post_ignoring_errors(server.url, source.read_bytes()), daemon=True)
        upload.start()
        assert wait_for(lambda: _partial(results), timeout=120) is not None
        os.kill(server.pid, signal.SIGKILL)
        upload.join(timeout=30)
    assert _partial(results)  # the kill landed mid-write

    with live_server(env, tmp_path / "second.log") as server:
        small = write_customers(tmp_path / "small.csv", rows=50).read_bytes()
        response = httpx.post(server.url + "/api/v1/predict/csv", content=small, headers={"content-type": "text/csv"})
        assert response.status_code == 200
        runs = httpx.get(server.url + "/api/v1/runs").json()["runs"]
    assert [run["run_id"] for run in runs] == [response.headers["x-run-id"]]
    assert [path.name for path in store.runs_dir(results).iterdir()] == [f"{runs[0]['run_id']}.parquet"]


def _partial(results: Path) -> list[Path]:
    return [p for p in store.runs_dir(results).glob(f"*{store.PARTIAL_SUFFIX}") if p.stat().st_size]


def _post_ignoring_errors(url: str, body: bytes) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the server is killed under it
        httpx.post(url + "/api/v1/predict/csv", content=body, headers={"content-type": "text/csv"}, timeout=120)
