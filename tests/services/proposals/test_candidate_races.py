"""A candidate whose proposal changed while it trained: dismissed (nothing saved, nothing activated) or outrun by
another activation (AUTO_PROMOTE leaves it ready, with why)."""

import pytest

from app.core.errors import VersionConflict
from app.db.session import create_db_engine, session_factory
from app.models.versions.store import VersionStore
from app.services.proposals import candidate as candidate_module
from app.services.proposals import records
from app.services.proposals.candidate import train_candidate
from tests.api.test_monitoring import customers
from tests.services.monitoring.test_reads import database, log  # noqa: F401 - the migrated SQLite log fixture
from tests.services.proposals.helpers import proposals, stored_proposal


@pytest.fixture
def settings_for(make_settings, two_versions, database):  # noqa: F811
    """Settings on a private folder with an inactive second version, and the migrated log, with overrides."""
    return lambda **overrides: make_settings(model_dir=two_versions[0], database_url=database, **overrides)


def _dismiss(url: str, proposal_id: str) -> None:
    engine = create_db_engine(url)
    try:
        with session_factory(engine)() as session:
            records.move(session, proposal_id=proposal_id, from_states=(records.TRAINING,), state=records.DISMISSED)
            session.commit()
    finally:
        engine.dispose()


def test_a_proposal_dismissed_before_training_saves_and_activates_nothing(
    settings_for,
    database,  # noqa: F811
    two_versions,
    model,
):
    log(database, model, customers(600, seed=71), segmentation=None)
    proposal_id = stored_proposal(database, model)
    _dismiss(database, proposal_id)
    store = VersionStore(two_versions[0])
    before = store.versions()

    with pytest.raises(VersionConflict, match="dismissed"):
        train_candidate(settings=settings_for(auto_promote=True), proposal_id=proposal_id)

    assert store.versions() == before
    assert store.active_version() == model.version
    (row,) = proposals(database)
    assert (row.state, row.candidate_version) == (records.DISMISSED, None)


def test_a_proposal_dismissed_while_fitting_saves_and_activates_nothing(
    settings_for,
    database,  # noqa: F811
    two_versions,
    model,
    monkeypatch,
):
    log(database, model, customers(600, seed=72), segmentation=None)
    proposal_id = stored_proposal(database, model)
    fit = candidate_module._fit

    def dismissed_meanwhile(**kwargs):
        fitted = fit(**kwargs)
        _dismiss(database, proposal_id)
        return fitted

    monkeypatch.setattr(candidate_module, "_fit", dismissed_meanwhile)
    store = VersionStore(two_versions[0])
    before = store.versions()

    with pytest.raises(VersionConflict, match="dismissed"):
        train_candidate(settings=settings_for(auto_promote=True), proposal_id=proposal_id)

    assert store.versions() == before
    assert store.active_version() == model.version
    assert proposals(database)[0].state == records.DISMISSED


def test_auto_promote_leaves_ready_a_candidate_whose_base_is_no_longer_active(
    settings_for,
    database,  # noqa: F811
    two_versions,
    model,
):
    folder, _first, second = two_versions
    log(database, model, customers(600, seed=62), segmentation=None)
    proposal_id = stored_proposal(database, model)
    VersionStore(folder).activate(second, reason="another admin's choice")

    result = train_candidate(settings=settings_for(auto_promote=True), proposal_id=proposal_id)

    assert result.activated is False
    assert VersionStore(folder).active_version() == second
    (row,) = proposals(database)
    assert row.comparison["summary"]["promotable"]
    assert (row.state, row.candidate_version, row.decided_by) == (records.READY, result.model.version, None)
    assert f"version {second} was activated since this candidate was trained" in row.error


def test_auto_promote_leaves_ready_a_candidate_whose_activation_failed(
    settings_for,
    database,  # noqa: F811
    two_versions,
    model,
    monkeypatch,
):
    log(database, model, customers(600, seed=62), segmentation=None)
    proposal_id = stored_proposal(database, model)

    def broken(**_kwargs):
        raise RuntimeError("/srv/models: something unforeseen")

    monkeypatch.setattr(candidate_module, "activate_over_base", broken)

    result = train_candidate(settings=settings_for(auto_promote=True), proposal_id=proposal_id)

    assert result.activated is False
    assert VersionStore(two_versions[0]).active_version() == model.version
    (row,) = proposals(database)
    assert (row.state, row.decided_by) == (records.READY, None)
    assert "not auto-promoted" in row.error and "/srv/models" not in row.error
