"""Shared fixtures: the default dataset, a model trained on it, apps and clients built around it, and fresh databases
(SQLite, and PostgreSQL on a throwaway server)."""

import os

# KMeans on a few hundred rows gains nothing from threads, and OpenMP's spinning threads run ten times slower when
# other processes share the cores: tests (and the servers they start) fit on one thread. Set before scikit-learn
# loads OpenMP; a value already in the environment wins.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.core.config import PROJECT_ROOT, Settings
from app.main import create_app
from app.models.features import PUBLIC_HEADER
from app.models.model import SegmentationModel
from app.models.synthetic import generate_customers, write_customers
from app.models.training import train
from app.models.versions.store import VersionStore, load_model
from tests.postgres import PostgresServer, pg_tool
from tests.tools import unavailable

# A test that uses one of these starts a browser, a real server or PostgreSQL: it is slow wherever it lives.
SLOW_FIXTURES = frozenset({"browser", "base_url", "postgres"})

# Modules holding only slow tests that do expensive work when imported (schemathesis builds the app and a test per
# operation at collection): they are not even imported when `-m` leaves slow tests out.
SLOW_MODULES = frozenset({"test_schemathesis.py"})

# Five points whose segment every correct model agrees on: (income k$, score) -> name.
KNOWN_POINTS: dict[tuple[float, float], str] = {
    (120, 90): "VIP / Whale",
    (20, 10): "Budget Conscious",
    (55, 50): "Average Customer",
    (20, 90): "Young Trendsetter",
    (120, 10): "High Earner Saver",
}


def _runs_slow_tests(config: pytest.Config) -> bool:
    """Whether the `-m` expression (if any) selects tests marked slow."""
    # pytest's own parser for `-m` (not public API): "not slow", "slow or not slow" and the like all read right.
    from _pytest.mark.expression import Expression

    markexpr = config.getoption("markexpr")
    return not markexpr or Expression.compile(markexpr).evaluate(lambda name, **_: name == "slow")


# Only the slow schemathesis test needs these plugins; pyproject.toml turns their automatic loading off.
SLOW_PLUGINS = ("_hypothesis_pytestplugin", "schemathesis.pytest.plugin")


def pytest_configure(config: pytest.Config) -> None:
    """Load the plugins that only slow tests use when slow tests run."""
    if _runs_slow_tests(config):
        for plugin in SLOW_PLUGINS:
            config.pluginmanager.import_plugin(plugin)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Skip importing a slow-only module when the `-m` expression deselects slow tests."""
    if collection_path.name in SLOW_MODULES and not _runs_slow_tests(config):
        return True
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `slow` every test that needs a browser, a live server or PostgreSQL, before `-m` selects."""
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def default_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic default dataset, generated fresh from code."""
    return write_customers(tmp_path_factory.mktemp("data") / "mall_customers.csv")


@pytest.fixture(scope="session")
def model_dir(default_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a default model trained on the default data."""
    output = tmp_path_factory.mktemp("model") / "models_artifacts"
    train(default_data, output_dir=output, processed_dir=output.parent / "processed")
    return output


@pytest.fixture(scope="session")
def model(model_dir: Path) -> SegmentationModel:
    """The default model, loaded back from its verified artifacts."""
    return load_model(model_dir)


@pytest.fixture
def fresh_dir(model_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the session's versions folder that a test may change or damage."""
    copy = tmp_path / "models_artifacts"
    shutil.copytree(model_dir, copy)
    return copy


@pytest.fixture(scope="session")
def two_versions_template(
    model_dir: Path, default_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str, str]:
    """A versions folder with the session model active and a second, inactive version, trained once a session."""
    root = tmp_path_factory.mktemp("two-versions") / "models_artifacts"
    shutil.copytree(model_dir, root)
    first = VersionStore(root).active_version()
    second = train(default_data, output_dir=root, seed=7).model.version
    return root, first, second


@pytest.fixture
def two_versions(two_versions_template: tuple[Path, str, str], tmp_path: Path) -> tuple[Path, str, str]:
    """The two-version folder copied for one test to change: (folder, active version, inactive version)."""
    template, first, second = two_versions_template
    root = tmp_path / "models_artifacts"
    shutil.copytree(template, root)
    return root, first, second


def _looks_public(path: Path) -> bool:
    """A 200-row file with the public header that is not our synthetic data."""
    lines = path.read_text(encoding="utf-8-sig", errors="replace").strip().splitlines()
    synthetic = generate_customers().to_csv(index=False, lineterminator="\n").strip().splitlines()
    return len(lines) == 201 and lines[0].strip() == ",".join(PUBLIC_HEADER) and lines != synthetic


@pytest.fixture(scope="session")
def crm_and_rfm_template(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's models folder plus a 3-feature `crm` columns segmentation and an `rfm` one, each trained once a
    session and active."""
    from app.models.segmentations.catalog import SegmentationCatalog
    from app.models.segmentations.spec import SegmentationSpec
    from app.models.segmentations.training import train_segmentation
    from app.models.synthetic_crm import write_crm
    from app.models.synthetic_transactions import write_transactions

    folder = tmp_path_factory.mktemp("crm-and-rfm")
    root = folder / "models_artifacts"
    shutil.copytree(model_dir, root)
    catalog = SegmentationCatalog(root)
    features = [{"name": n, "column": n.title(), "label": n.title()} for n in ("income", "visits", "tenure")]
    catalog.create(SegmentationSpec.from_dict({"name": "crm", "features": features}))
    catalog.create(SegmentationSpec.from_dict({"name": "rfm", "kind": "rfm"}))
    train_segmentation(catalog.get("crm"), write_crm(folder / "crm.csv"), models_root=root, k=3, activate=True)
    transactions, _ = write_transactions(folder / "transactions.csv", customers=300, seed=5)
    train_segmentation(catalog.get("rfm"), transactions, models_root=root, k=4, activate=True)
    return root


@pytest.fixture(scope="module")
def segmentations_root(crm_and_rfm_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`crm_and_rfm_template` copied for one test module to change, with the data files beside it (`crm.csv`,
    `transactions.csv`); a module may define its own instead."""
    folder = tmp_path_factory.mktemp("segmentations") / "copy"
    shutil.copytree(crm_and_rfm_template.parent, folder)
    return folder / "models_artifacts"


@pytest.fixture(scope="session")
def public_mall_csv() -> Path:
    """The public Mall Customers CSV, when the environment provides one (it is not shipped)."""
    raw = PROJECT_ROOT / "data" / "raw"
    candidates = [os.environ.get("MALL_CUSTOMERS_PUBLIC_CSV"), *sorted(raw.glob("*.csv"))]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and _looks_public(Path(candidate)):
            return Path(candidate)
    pytest.skip("the public Mall Customers CSV is not shipped; set MALL_CUSTOMERS_PUBLIC_CSV to check against it")


@pytest.fixture(scope="session")
def make_settings(
    model_dir: Path, default_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., Settings]:
    """Settings pointing at the session's trained model and a throwaway prediction log, with overrides; .env is
    ignored."""
    database = tmp_path_factory.mktemp("db") / "prediction_log.sqlite3"

    results_dir = tmp_path_factory.mktemp("score-results")

    def make(**overrides) -> Settings:
        values = {
            "model_dir": model_dir,
            "data_path": default_data,
            "database_url": f"sqlite:///{database}",
            "auto_train": False,
            "score_results_dir": results_dir,
            # The background drift evaluator stays off unless a test turns it on: its rows would surprise others.
            "drift_evaluation_seconds": 0,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture(scope="session")
def app(make_settings) -> FastAPI:
    """The app with the default test settings."""
    return create_app(make_settings())


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client with the lifespan running, so the model is loaded."""
    with TestClient(app) as c:
        yield c


@pytest.fixture
def client_for(make_settings) -> Iterator[Callable[..., TestClient]]:
    """Build a client for other settings; each is closed at the end of the test."""
    opened: list[TestClient] = []

    def build(**overrides) -> TestClient:
        test_client = TestClient(create_app(make_settings(**overrides)))
        test_client.__enter__()
        opened.append(test_client)
        return test_client

    yield build
    for test_client in opened:
        test_client.__exit__(None, None, None)


@pytest.fixture
def ended_trainers(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Training jobs whose process ends at once, so each job keeps what its request wrote; the keyword arguments
    each process was started with, in order (how many jobs started, and their environments)."""
    from app.services.training import launch

    started: list[dict] = []

    class Ended:
        pid = 0

        def __init__(self, *args: object, **kwargs: object) -> None:
            started.append(kwargs)

        def wait(self) -> int:
            return 0

    monkeypatch.setattr(launch.subprocess, "Popen", Ended)
    return started


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session (skipped only outside CI when PostgreSQL is not installed)."""
    initdb, pg_ctl = pg_tool("initdb"), pg_tool("pg_ctl")
    if not (initdb and pg_ctl):
        unavailable("PostgreSQL (initdb, pg_ctl) is not installed; `bash setup.sh test` installs it")
    server = PostgresServer(initdb, pg_ctl)
    try:
        server.start()
        yield server
    finally:
        server.remove()


# PostgreSQL needs its server (seconds to start): those cases are slow, the SQLite ones stay in the fast loop.
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, or a new database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'log.sqlite3'}"
    return request.getfixturevalue("postgres").create_database()
