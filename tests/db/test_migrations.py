"""Migrations: idempotent, safe when several workers run them at once, and reversible without losing a logged
prediction, on SQLite and PostgreSQL."""

import os
import re
import subprocess
import sys
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import inspect, select, text

from app.core.config import PROJECT_ROOT
from app.db.migrate import alembic_config, upgrade_database
from app.db.session import create_db_engine
from app.db.tables import ModelActivation, PredictionLog
from app.models.versions.registry import ModelRegistry
from app.models.versions.store import VersionStore
from app.services.monitoring.log_rows import log_scores
from app.services.monitoring.prediction_log import PredictionLogWriter
from tests.db.reading import logged_rows, read_all
from tests.log_chunks import ChunkList

VERSIONS = PROJECT_ROOT / "app" / "db" / "migrations" / "versions"
# The newest migration file's revision: every upgrade must end there.
HEAD = sorted(path.name for path in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))[-1][:4]


def test_the_migrations_form_one_line_each_after_the_one_before():
    files = sorted(VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))
    for before, path in zip([None, *files], files, strict=False):
        source = path.read_text()
        assert re.search(rf'^revision: str = "{path.name[:4]}"$', source, re.M), path.name
        expected = "None" if before is None else f'"{before.name[:4]}"'
        assert re.search(rf"^down_revision: str \| None = {re.escape(expected)}$", source, re.M), path.name


def _tables(url: str) -> set[str]:
    engine = create_db_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_twice_gives_the_same_schema_without_error(database_url):
    assert upgrade_database(database_url) == HEAD
    assert upgrade_database(database_url) == HEAD
    assert {"prediction_log", "model_activations", "alembic_version"} <= _tables(database_url)


@pytest.mark.slow
def test_cli_upgrade_from_several_processes_at_once_all_succeed(database_url):
    env = {**os.environ, "DATABASE_URL": database_url}
    command = [sys.executable, "-m", "app.cli", "db", "upgrade"]
    workers = [
        subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    results = [(worker.wait(timeout=120), *worker.communicate()) for worker in workers]
    assert [code for code, _, _ in results] == [0, 0, 0], results
    assert all(out.strip() == f"database at revision {HEAD}" for _, out, _ in results)
    assert "prediction_log" in _tables(database_url)


def test_migrations_build_exactly_the_orm_tables(database_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from app.db.tables import Base

    upgrade_database(database_url)
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        engine.dispose()


def _execute(url: str, sql: str, rows: list[dict] | None = None) -> list:
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql), rows or {})
            return result.all() if result.returns_rows else []
    finally:
        engine.dispose()


OLD_LOG_ROW = (
    "INSERT INTO prediction_log (created_at, model_version, inputs, segment_id, segment_name, distance, confidence, "
    "is_atypical, out_of_range, request_id, source) VALUES (:at, :version, :inputs, 2, 'VIP', 0.5, 0.75, :atypical, "
    ":out, :request, :source)"
)


def test_upgrade_of_a_database_with_rows_keeps_them_in_the_default_segmentation(database_url):
    # A database as revision 0002 left it, with the rows a server wrote before segmentations existed.
    assert upgrade_database(database_url, "0002") == "0002"
    at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    old_rows = [
        {"at": at, "version": "v1", "inputs": '{"annual_income": 60.0}', "atypical": False, "out": True,
         "request": "r-1", "source": "single"},
        {"at": at, "version": "v2", "inputs": '{"annual_income": 20.5}', "atypical": True, "out": False,
         "request": None, "source": "batch"},
    ]  # fmt: skip
    _execute(database_url, OLD_LOG_ROW, old_rows)
    _execute(
        database_url,
        "INSERT INTO model_activations (entry_key, activated_at, from_version, to_version, reason, key_id) "
        "VALUES ('k1', :at, NULL, 'v1', 'first', NULL)",
        [{"at": at}],
    )

    assert upgrade_database(database_url) == HEAD
    log = read_all(database_url, select(PredictionLog).order_by(PredictionLog.id))
    assert [(row.model_version, row.request_id, row.source, row.is_atypical, row.out_of_range) for row in log] == [
        ("v1", "r-1", "single", False, True),
        ("v2", None, "batch", True, False),
    ]
    assert [row.inputs for row in log] == [{"annual_income": 60.0}, {"annual_income": 20.5}]
    assert [(row.segmentation, row.customer_id) for row in log] == [("default", None)] * 2
    assert [row.created_at for row in log] == [at, at]
    (activation,) = read_all(database_url, select(ModelActivation))
    assert (activation.entry_key, activation.to_version, activation.segmentation) == ("k1", "v1", "default")
    # The new columns take new rows: another segmentation's, with a customer id.
    _execute(database_url, OLD_LOG_ROW, [old_rows[0] | {"version": "v9"}])
    _execute(
        database_url,
        "UPDATE prediction_log SET segmentation = 'rfm', customer_id = 'C-1' WHERE model_version = 'v9'",
    )
    assert _execute(database_url, "SELECT segmentation, customer_id FROM prediction_log ORDER BY id") == [
        ("default", None),
        ("default", None),
        ("rfm", "C-1"),
    ]


def test_downgrade_to_0002_and_upgrade_again_keeps_the_rows(database_url):
    from alembic import command

    upgrade_database(database_url)
    at = datetime(2026, 12, 1, tzinfo=UTC)
    row = {"at": at, "version": "v1", "inputs": "{}", "atypical": False, "out": False, "request": None, "source": "csv"}
    _execute(database_url, OLD_LOG_ROW, [row])
    command.downgrade(alembic_config(database_url), "0002")
    columns = {column["name"] for column in inspect_columns(database_url, "prediction_log")}
    assert "segmentation" not in columns and "customer_id" not in columns
    assert "segmentation" not in {column["name"] for column in inspect_columns(database_url, "model_activations")}
    assert upgrade_database(database_url) == HEAD
    assert _execute(database_url, "SELECT model_version, source, segmentation FROM prediction_log") == [
        ("v1", "csv", "default")
    ]


def inspect_columns(url: str, table: str) -> list[dict]:
    """The columns of one table, as the database reports them."""
    engine = create_db_engine(url)
    try:
        return inspect(engine).get_columns(table)
    finally:
        engine.dispose()


def _logged_chunks(two_versions: tuple) -> list:
    """A batch with ids stored as a chunk, a shadow challenger's batch, a batch without ids, and a single prediction."""
    root, _, second = two_versions
    registry = ModelRegistry(VersionStore(root)).load()
    champion, challenger = registry.get(), registry.get(second)
    rng = np.random.default_rng(3)
    sink = ChunkList()
    for n, options in (
        (120, {"customer_ids": [None if i % 9 == 0 else f"C{i % 70}" for i in range(120)]}),
        (80, {"arm": "champion", "shadow": (second, list(range(80)))}),
        (60, {}),
        (1, {"customer_ids": ["C5"]}),
    ):
        X = np.column_stack([rng.uniform(15, 137, n), rng.uniform(1, 99, n)])
        if "shadow" in options:
            options["shadow"] = (second, [challenger.segments[p].segment_id for p in challenger.score(X).positions])
        log_scores(sink, champion, X, champion.score(X), request_id=f"r-{n}", source="batch", **options)
        sink.chunks[-1].created_at = datetime(2026, 12, 1, 10, n % 60, tzinfo=UTC)
    return sink.chunks


def _write_log(url: str, chunks: list) -> None:
    upgrade_database(url)
    writer = PredictionLogWriter(create_db_engine(url), max_rows=10_000, retention_days=36_500)
    writer.start()
    for chunk in chunks:
        writer.submit(chunk)
    assert writer.flush(timeout=30)
    writer.stop()
    assert writer.written == sum(map(len, chunks))


def _every_row(url: str) -> list:
    return sorted((vars(row) | {"ref": None} for row in logged_rows(url)), key=repr)


def test_downgrade_below_chunks_moves_their_predictions_into_the_log_a_row_each(database_url, two_versions):
    chunks = _logged_chunks(two_versions)
    _write_log(database_url, chunks)
    assert _execute(database_url, "SELECT COUNT(*) FROM prediction_chunks") == [(3,)]
    before = _every_row(database_url)
    assert len(before) == 261

    from alembic import command

    command.downgrade(alembic_config(database_url), "0012")
    assert "prediction_chunks" not in _tables(database_url)
    assert _execute(database_url, "SELECT COUNT(*) FROM prediction_log") == [(261,)]
    # Numbered in the order they were answered, as the code before 0013 reads the newest: the single prediction of
    # 10:01 (a row of its own from the start) after the batches of 10:00, before the one of 10:20.
    numbered = _execute(database_url, "SELECT id, created_at, request_id FROM prediction_log ORDER BY id")
    assert [row[0] for row in numbered] == list(range(1, 262))
    assert [row[1] for row in numbered] == sorted(row[1] for row in numbered)
    assert [row[2] for row in numbered] == ["r-120"] * 120 + ["r-60"] * 60 + ["r-1"] + ["r-80"] * 80
    # Every column of every prediction, as the readers gave it before: inputs, ids, shadow segments, names.
    assert upgrade_database(database_url) == HEAD
    assert _every_row(database_url) == before


@pytest.mark.parametrize(
    "damage", ["UPDATE prediction_chunks SET payload = :bad", "UPDATE prediction_chunks SET customer_ids = :bad"]
)
def test_downgrade_stops_at_a_damaged_chunk_naming_it_with_nothing_changed(database_url, two_versions, damage):
    from alembic import command

    _write_log(database_url, _logged_chunks(two_versions))
    damaged = _execute(database_url, "SELECT MAX(id) FROM prediction_chunks")[0][0]
    _execute(database_url, f"{damage} WHERE id = :id", [{"bad": b"PLC1 cut short", "id": damaged}])
    before = _execute(database_url, "SELECT COUNT(*) FROM prediction_log")
    with pytest.raises(RuntimeError, match=rf"prediction chunk {damaged} cannot be read") as raised:
        command.downgrade(alembic_config(database_url), "0012")
    assert f"DELETE FROM prediction_chunks WHERE id = {damaged}" in str(raised.value)
    assert _execute(database_url, "SELECT COUNT(*) FROM prediction_chunks") == [(3,)]
    assert _execute(database_url, "SELECT COUNT(*) FROM prediction_log") == before
    assert _execute(database_url, "SELECT version_num FROM alembic_version") == [(HEAD,)]
