"""A proposal's candidate, trained as its job's process trains it: warm-started on the logged customers, named by
segment identity, compared, and activated only by AUTO_PROMOTE's rules."""

import pytest

from app.core.errors import InvalidDataset
from app.models.versions.store import VersionStore
from app.services.proposals import records
from app.services.proposals.candidate import train_candidate
from app.services.proposals.logged import MIN_CUSTOMERS
from tests.api.test_monitoring import customers
from tests.services.monitoring.test_reads import database, log  # noqa: F401 - the migrated SQLite log fixture
from tests.services.proposals.helpers import one_segment_moved, proposals, stored_proposal


@pytest.fixture
def settings_for(make_settings, fresh_dir, database):  # noqa: F811
    """Settings on a private versions folder and the migrated log, with overrides."""
    return lambda **overrides: make_settings(model_dir=fresh_dir, database_url=database, **overrides)


def test_the_candidate_keeps_the_names_of_unchanged_segments_and_the_active_version(
    settings_for,
    database,  # noqa: F811
    fresh_dir,
    model,
):
    rows, moved = one_segment_moved(model, 600, seed=61)
    log(database, model, rows, segmentation=None)
    proposal_id = stored_proposal(database, model)
    settings = settings_for(auto_promote=False)

    result = train_candidate(settings=settings, proposal_id=proposal_id)

    assert result.activated is False
    store = VersionStore(fresh_dir)
    assert store.active_version() == model.version
    candidate = store.load(result.model.version)
    assert candidate.info["init"] == "warm start" and candidate.info["warm_start_from"] == model.version
    assert candidate.n_clusters == model.n_clusters
    kept = {s.segment_id: s.name for s in candidate.segments}
    for position, segment in enumerate(model.segments):
        if position != moved:
            assert kept.get(segment.segment_id) == segment.name
    (row,) = proposals(database)
    assert (row.state, row.candidate_version, row.error) == (records.READY, candidate.version, None)
    summary = row.comparison["summary"]
    assert summary["customers"] == 600
    assert model.segments[moved].name in summary["lost"]
    recent = row.comparison["recent_customers"]
    assert [s["name"] for s in recent["old_segments"]] == [s.name for s in model.segments]
    assert sum(map(sum, recent["migration_matrix"])) == 600
    assert row.comparison["versions"]["with_version"] == model.version


def test_auto_promote_activates_a_candidate_that_meets_the_rules(settings_for, database, fresh_dir, model):  # noqa: F811
    log(database, model, customers(600, seed=62), segmentation=None)
    proposal_id = stored_proposal(database, model)

    result = train_candidate(settings=settings_for(auto_promote=True), proposal_id=proposal_id)

    assert result.activated is True
    store = VersionStore(fresh_dir)
    assert store.active_version() == result.model.version
    assert proposal_id in store.history()[-1]["reason"]
    (row,) = proposals(database)
    assert (row.state, row.decided_by) == (records.ACCEPTED, "AUTO_PROMOTE")
    summary = row.comparison["summary"]
    assert summary["promotable"] and summary["agreement"] >= 0.8 and summary["lost"] == []


def test_auto_promote_leaves_a_candidate_that_lost_a_segment(settings_for, database, fresh_dir, model):  # noqa: F811
    rows, moved = one_segment_moved(model, 600, seed=63)
    log(database, model, rows, segmentation=None)
    proposal_id = stored_proposal(database, model)

    result = train_candidate(settings=settings_for(auto_promote=True), proposal_id=proposal_id)

    assert result.activated is False
    assert VersionStore(fresh_dir).active_version() == model.version
    (row,) = proposals(database)
    assert row.state == records.READY
    assert any(model.segments[moved].name in why for why in row.comparison["summary"]["not_promotable_because"])


def test_mixing_adds_the_training_sample(settings_for, database, model):  # noqa: F811
    log(database, model, customers(300, seed=64), segmentation=None)
    proposal_id = stored_proposal(database, model, mix_training=True)

    result = train_candidate(settings=settings_for(), proposal_id=proposal_id)

    assert result.model.info["n_input_rows"] == 300 + len(model.info["map_sample"])
    # The comparison is on the logged customers only.
    assert proposals(database)[0].comparison["summary"]["customers"] == 300


def test_too_few_logged_customers_fail_the_proposal(settings_for, database, fresh_dir, model):  # noqa: F811
    log(database, model, customers(MIN_CUSTOMERS - 1, seed=65), segmentation=None)
    proposal_id = stored_proposal(database, model)

    with pytest.raises(InvalidDataset, match=f"only {MIN_CUSTOMERS - 1} logged customer"):
        train_candidate(settings=settings_for(), proposal_id=proposal_id)

    (row,) = proposals(database)
    assert row.state == records.FAILED and f"at least {MIN_CUSTOMERS}" in row.error
    assert VersionStore(fresh_dir).versions() == [model.version]
