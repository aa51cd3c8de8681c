"""API fixtures: an app built from test settings, driven through TestClient with its lifespan."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.core.app_factory import create_app
from app.core.config import Settings


@pytest.fixture(scope="session")
def make_settings(model_dir: Path, default_data: Path) -> Callable[..., Settings]:
    """Settings pointing at the session's trained model, with overrides; .env is ignored."""

    def make(**overrides) -> Settings:
        values = {
            "model_dir": model_dir,
            "data_path": default_data,
            "auto_train": False,
            "environment": "test",
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
