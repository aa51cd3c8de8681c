"""The runs table on SQLite and PostgreSQL: a run kept, listed, read, removed by retention with its date, deleted."""

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from sqlalchemy import update

from app.core.config import Settings
from app.db.migrate import upgrade_database
from app.db.session import create_db_engine, session_factory
from app.db.tables import Run
from app.services.runs import records
from app.services.runs.errors import RunGone, UnknownRun
from app.services.runs.store import RunFile

SCHEMA = pa.schema([("CustomerID", pa.string()), ("segment_name", pa.string())])
SUMMARY = {"model_version": "v1", "rows": 2, "scored": 2, "columns": {"customer_id": "CustomerID"}, "segments": []}


def _kept(sessions, settings: Settings, *, segmentation: str = "default") -> str:
    run_file = RunFile(settings.score_results_dir)
    table = pa.table({"CustomerID": ["C1", "C2"], "segment_name": ["A", "B"]})
    assert list(run_file.tee(iter([table]), SCHEMA)) == [table]
    run_id = records.keep_scored_run(
        sessions=sessions, settings=settings, run_file=run_file, summary=SUMMARY, segmentation=segmentation,
        file_name="march", source="api",
    ).run_id  # fmt: skip
    assert run_id == run_file.run_id
    return run_id


def test_runs_are_kept_listed_removed_with_their_date_and_deleted(database_url, tmp_path):
    upgrade_database(database_url)
    engine = create_db_engine(database_url)
    sessions = session_factory(engine)
    settings = Settings(_env_file=None, database_url=database_url, score_results_dir=tmp_path / "results")
    try:
        old, crm, new = (
            _kept(sessions, settings),
            _kept(sessions, settings, segmentation="crm"),
            _kept(sessions, settings),
        )
        with sessions() as session:
            listed = records.list_runs(session=session, settings=settings)
            assert [run.id for run in listed] == [new, crm, old]
            assert [run.id for run in records.list_runs(session=session, settings=settings, segmentation="crm")] == [
                crm
            ]
            run = records.get_run(session=session, settings=settings, run_id=new)
            assert (run.customer_id_column, run.summary, run.created_at.tzinfo) == ("CustomerID", SUMMARY, UTC)
            session.execute(update(Run).where(Run.id == old).values(created_at=datetime.now(UTC) - timedelta(days=31)))
            session.commit()
            with pytest.raises(RunGone) as gone:
                records.get_run(session=session, settings=settings, run_id=old)
            assert gone.value.removed_at.date() == datetime.now(UTC).date()
            records.delete_run(session=session, settings=settings, run_id=new)
            with pytest.raises(UnknownRun):
                records.get_run(session=session, settings=settings, run_id=new)
        assert sorted(path.stem for path in (tmp_path / "results" / "runs").iterdir()) == [crm]
    finally:
        engine.dispose()
