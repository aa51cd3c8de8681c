"""Monitoring reads per segmentation: drift, volume and the last activation see one segmentation's rows only."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from app.db.migrate import upgrade_database
from app.db.session import create_db_engine, session_factory
from app.db.tables import ModelActivation
from app.models.model import SegmentationModel
from app.services.monitoring import reads
from app.services.monitoring.prediction_log import PredictionLogWriter
from app.services.prediction import predict_customers
from tests.api.test_monitoring import customers


@pytest.fixture
def database(tmp_path: Path) -> str:
    """A migrated, empty SQLite prediction log."""
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    upgrade_database(url)
    return url


@pytest.fixture
def session(database: str) -> Iterator[Session]:
    engine = create_db_engine(database)
    with session_factory(engine)() as opened:
        yield opened
    engine.dispose()


def log(url: str, model: SegmentationModel, rows: list[dict[str, float]], *, segmentation: str | None) -> None:
    """Answer `rows` as a batch and write them to the log, as the segmentation's routes do (None: as today's)."""
    writer = PredictionLogWriter(create_db_engine(url), max_rows=100_000)
    writer.start()
    answer = predict_customers(model, rows)
    if segmentation is not None:
        answer.segmentation = segmentation
    answer.record(log=writer, request_id=None)
    assert writer.flush()
    writer.stop()


def test_drift_reads_only_its_segmentations_rows(database, session, model):
    std = model.info["data_stats"]["annual_income"]["std"]
    # The same model version serves both: only the segmentation tells the rows apart.
    log(database, model, customers(600, seed=5), segmentation=None)
    log(database, model, customers(1_500, seed=6, income_shift=std), segmentation="loyalty")
    log(database, model, customers(300, seed=7), segmentation="default")

    default = reads.drift(session, model, window=5_000)
    assert (default["status"], default["window"]["size"]) == ("stable", 900)
    assert default == reads.drift(session, model, window=5_000, segmentation="default")
    shifted = reads.drift(session, model, window=5_000, segmentation="loyalty")
    assert (shifted["status"], shifted["window"]["size"]) == ("drift", 1_500)
    empty = reads.drift(session, model, window=5_000, segmentation="rfm")
    assert (empty["status"], empty["window"]["size"]) == ("insufficient data", 0)


def test_volume_counts_only_its_segmentations_rows(database, session, model):
    log(database, model, customers(120, seed=1), segmentation=None)
    log(database, model, customers(80, seed=2), segmentation="loyalty")
    assert reads.prediction_volume(session, model)["total"] == 120
    loyalty = reads.prediction_volume(session, model, segmentation="loyalty")
    assert loyalty["total"] == 80
    assert sum(sum(bucket["counts"].values()) for bucket in loyalty["series"]) == 80
    assert reads.prediction_volume(session, model, segmentation="rfm")["total"] == 0


def test_last_activation_is_the_segmentations_own(database, session):
    def activation(key: str, day: int, version: str, segmentation: str) -> dict:
        at = datetime(2026, 12, day, tzinfo=UTC)
        return {"entry_key": key, "activated_at": at, "to_version": version, "reason": "", "segmentation": segmentation}

    assert reads.last_activation(session) is None
    session.execute(
        insert(ModelActivation),
        [activation("a", 1, "v1", "default"), activation("b", 3, "r1", "rfm"), activation("c", 2, "v2", "default")],
    )
    session.commit()
    assert reads.last_activation(session) == {"at": datetime(2026, 12, 2, tzinfo=UTC).isoformat(), "version": "v2"}
    assert reads.last_activation(session, segmentation="rfm")["version"] == "r1"
    assert reads.last_activation(session, segmentation="loyalty") is None


def test_drift_names_a_segmentations_features_by_their_labels(database, session):
    from app.models.features import Feature
    from app.models.training import fit_model

    specs = [
        Feature("income", "Yearly income", "Income", "$", 0.0, float("inf"), "incomes", "$", "Income"),
        Feature("visits", "Visits per month", "Visits", "visits", 0.0, float("inf"), "visit counts", "", "Visits"),
    ]
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.normal(50_000, 9_000, 600), rng.poisson(6, 600)]).astype(float)
    model = fit_model(X, ["income", "visits"], specs=specs, k=3, sweep=False)
    rows = [{"income": income, "visits": visits} for income, visits in X[:300]]
    log(database, model, rows, segmentation="loyalty")
    report = reads.drift(session, model, window=1_000, segmentation="loyalty")
    assert report["window"]["size"] == 300
    assert [(check["feature"], check["label"]) for check in report["features"]] == [
        ("income", "Yearly income"),
        ("visits", "Visits per month"),
    ]
    assert all(check["message"].startswith(check["label"]) for check in report["features"])
