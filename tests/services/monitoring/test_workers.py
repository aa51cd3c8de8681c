"""The monitoring workers' wiring: the drift evaluator proposes retraining only when PROPOSALS_FROM_DRIFT says so."""

import pytest

from app.core.config import Settings
from app.db.session import create_db_engine
from app.models.versions.store import VersionStore
from app.services.monitoring import workers
from app.services.monitoring.evaluator import DriftProposals


@pytest.mark.parametrize("from_drift", [True, False])
def test_drift_proposes_retraining_only_when_the_setting_says_so(make_settings, tmp_path, monkeypatch, from_drift):
    given = {}

    def evaluator(**kwargs):
        given.update(kwargs)
        return None

    monkeypatch.setattr(workers, "start_drift_evaluator", evaluator)
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}", proposals_from_drift=from_drift)
    engine = create_db_engine(settings.database_url.get_secret_value())
    started = workers.start_monitoring(
        settings=settings, engine=engine, store=VersionStore(settings.model_dir), segmentations=object()
    )
    try:
        assert "segmentations" in given
        assert isinstance(given["proposals"], DriftProposals) is from_drift
        if not from_drift:
            assert given["proposals"] is None
    finally:
        started.stop()
        engine.dispose()


def test_drift_proposes_by_default(monkeypatch):
    monkeypatch.delenv("PROPOSALS_FROM_DRIFT", raising=False)
    assert Settings(_env_file=None).proposals_from_drift is True
