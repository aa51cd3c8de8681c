"""Fixtures for the core tests that need the whole app: a client connecting from a chosen peer and scheme."""

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app


@pytest.fixture
def client_for_peer(make_settings) -> Iterator[Callable[..., TestClient]]:
    """Build a client for settings overrides that connects from `peer` over `scheme`; closed at the end."""
    opened: list[TestClient] = []

    def build(peer: tuple[str, int], *, scheme: str = "http", **overrides) -> TestClient:
        client = TestClient(
            create_app(make_settings(**overrides)), client=peer, base_url=f"{scheme}://testserver",
            follow_redirects=False,
        )  # fmt: skip
        client.__enter__()
        opened.append(client)
        return client

    yield build
    for client in opened:
        client.__exit__(None, None, None)
