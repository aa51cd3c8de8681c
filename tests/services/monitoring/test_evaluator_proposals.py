"""What a stored verdict causes, in its own transaction: drift.changed when the status changed, and a retraining
proposal when it turns to drift, once per cooldown however many workers evaluate."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.db.session import create_db_engine, session_factory
from app.db.tables import DriftCheck
from app.services.monitoring.evaluator import DriftEvaluator, DriftProposals
from app.services.notifications.events import DRIFT_CHANGED, PROPOSAL_CREATED
from tests.api.test_monitoring import customers
from tests.services.monitoring.test_reads import database, log  # noqa: F401 - the migrated SQLite log fixture
from tests.services.proposals.helpers import events, proposals

INTERVAL = 300


def worker(url: str, model, started: list, cooldown: timedelta = timedelta(hours=24)) -> DriftEvaluator:
    """One server process's evaluator, proposing with `cooldown`; started proposals are noted in `started`."""
    hook = DriftProposals(cooldown=cooldown, start=started.append)
    return DriftEvaluator(create_db_engine(url), lambda: {"default": model}, interval=INTERVAL, proposals=hook)


def calm_down(url: str, model, at: datetime) -> None:
    """Store a stable verdict, as an evaluation of calm traffic would, so the next drift turns again."""
    engine = create_db_engine(url)
    with session_factory(engine)() as session:
        latest = session.scalars(select(DriftCheck).order_by(DriftCheck.id.desc()).limit(1)).one()
        session.add(
            DriftCheck(
                evaluated_at=at,
                segmentation="default",
                model_version=model.version,
                window_since=at - timedelta(hours=24),
                window_until=at,
                window_size=latest.window_size,
                status="stable",
                checks=[{"check": "overall", "status": "stable", "value": None}],
            )
        )
        session.commit()
    engine.dispose()


def shifted(model, seed: int) -> list[dict]:
    """Traffic whose first feature moved by one training standard deviation, as the drift tests shift it."""
    first = model.features[0]
    rows = customers(600, seed=seed)
    std = model.info["data_stats"][first]["std"]
    return [row | {first: row[first] + std} for row in rows]


def test_drift_from_two_workers_makes_exactly_one_proposal_within_the_cooldown(database, model):  # noqa: F811
    log(database, model, shifted(model, seed=71), segmentation=None)
    started: list = []
    first, second = worker(database, model, started), worker(database, model, started)
    now = datetime.now(UTC)

    assert first.run_once(now=now) == ["default"]
    assert second.run_once(now=now + timedelta(seconds=INTERVAL)) == ["default"]
    # Drift calms down and turns again an hour later: still within the cooldown.
    calm_down(database, model, now + timedelta(minutes=30))
    assert second.run_once(now=now + timedelta(hours=1)) == ["default"]

    (proposal,) = proposals(database)
    assert (proposal.segmentation, proposal.trigger, proposal.state) == ("default", "drift", "training")
    assert proposal.base_version == model.version
    assert proposal.reason.startswith(f"drift in {model.features[0]}") and " since " in proposal.reason
    assert [p.id for p in started] == [proposal.id]
    (created,) = events(database, PROPOSAL_CREATED)
    assert created.payload["id"] == proposal.id and created.event_key == f"proposal:{proposal.id}"


def test_drift_turning_after_the_cooldown_proposes_again(database, model):  # noqa: F811
    log(database, model, shifted(model, seed=72), segmentation=None)
    started: list = []
    evaluator = worker(database, model, started, cooldown=timedelta(minutes=20))
    now = datetime.now(UTC)
    assert evaluator.run_once(now=now) == ["default"]
    calm_down(database, model, now + timedelta(minutes=10))
    assert evaluator.run_once(now=now + timedelta(minutes=30)) == ["default"]
    assert len(proposals(database)) == 2 and len(started) == 2


def test_calm_traffic_proposes_nothing(database, model):  # noqa: F811
    log(database, model, customers(600, seed=73), segmentation=None)
    started: list = []
    assert worker(database, model, started).run_once() == ["default"]
    assert proposals(database) == [] and started == []


def test_drift_changed_is_written_with_the_evaluation_it_announces(database, model):  # noqa: F811
    log(database, model, shifted(model, seed=74), segmentation=None)
    started: list = []
    evaluator = worker(database, model, started)
    now = datetime.now(UTC)
    calm_down_at = now - timedelta(minutes=10)
    assert evaluator.run_once(now=now - timedelta(minutes=20)) == ["default"]  # the first verdict: nothing changed
    assert events(database, DRIFT_CHANGED) == []
    calm_down(database, model, calm_down_at)
    assert evaluator.run_once(now=now) == ["default"]

    (changed,) = events(database, DRIFT_CHANGED)
    engine = create_db_engine(database)
    with session_factory(engine)() as session:
        newest = session.scalars(select(DriftCheck).order_by(DriftCheck.id.desc()).limit(1)).one()
    engine.dispose()
    assert changed.event_key == f"drift:{newest.id}"
    assert (changed.payload["previous_status"], changed.payload["status"]) == ("stable", "drift")
